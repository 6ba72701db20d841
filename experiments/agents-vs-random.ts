/**
 * Issue #15: the "beats random" tests must not sit on a knife edge. This measures the final
 * optimality gap of each agent and of uniform random search, per seed, on the test problems
 * and budgets of agents/compare.slow.test.ts, so that the test's seeds and margin can be
 * checked on other seed blocks.
 *
 *   npx tsx experiments/agents-vs-random.ts <agent|random> <firstSeed> <lastSeed> <out.jsonl> [problem]
 *
 * Appends one JSON line per (agent, case, seed): { agent, case, seed, gap, ms }; `random`
 * measures random search once per (problem, budget). Summary: experiments/results/agents-vs-random.md.
 */
import { appendFileSync } from 'node:fs';
import { COMPARISONS } from '../agents/testing/comparisons.js';
import { gaps } from '../agents/testing/compare.js';

const [agent, first, last, out, problem] = process.argv.slice(2);
if (!out) throw new Error('usage: agents-vs-random.ts <agent|random> <firstSeed> <lastSeed> <out.jsonl> [problem]');
const cases = COMPARISONS.filter((c) => (agent === 'random' || c.agent === agent) && (!problem || c.problem.name === problem));
if (!cases.length) throw new Error(`unknown agent ${agent}; one of random, ${[...new Set(COMPARISONS.map((c) => c.agent))].join(', ')}`);
const seen = new Set<string>();
for (let seed = Number(first); seed <= Number(last); seed++) {
  for (const c of cases) {
    // Random's gap depends only on the problem and budget: measure each pair once.
    const key = agent === 'random' ? `${c.problem.name}@${c.budget}` : c.name;
    if (seen.has(`${key}#${seed}`)) continue;
    seen.add(`${key}#${seed}`);
    const t0 = performance.now();
    const [gap] = await gaps(agent === 'random' ? c.random : c.make, c.problem, c.budget, [seed]);
    appendFileSync(out, JSON.stringify({ agent, case: key, seed, gap, ms: Math.round(performance.now() - t0) }) + '\n');
  }
}
