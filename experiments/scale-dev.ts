/**
 * Development harness of issue #21 (committed after the #21 review, unchanged but for the import
 * paths, the default output folder and this comment): part B of experiments/bench-scale.ts on chosen
 * seeds and loops, with gp-bo options and loop.warmup, writing per-seed rig runs to 2 / 1 / 0.5 %
 * of f* and every proposal's true gaps (the traces behind docs/async.md's "Why" and its table
 * of async variants). Development seeds only (101–130), never the reported 1–40.
 *
 *   npx tsx experiments/scale-dev.ts --seeds 101-120 --modes async --warm 10 --out /tmp/w10.json
 *   npx tsx experiments/scale-dev.ts --seeds 101-120 --modes async --opts '{"kappa":2}' --out /tmp/k2.json
 *   npx tsx experiments/scale-dev.ts --seeds 101-130 --modes sync,async --opts '{"acquisition":"thompson"}' --out /tmp/ts.json
 *
 * The runs of record (2026-12-06, code of 19e2c63 before it was committed) are in
 * experiments/results/scale-dev/ (README.md there names the command of each file).
 * f* is the value bench-scale's fStarOf() gives (scale.md), to 5 digits.
 */
import { createGpBoAgent } from '../agents/gp-bo.js';
import { variedFleet } from '../robots/sim/fleet.js';
import type { Agent, Parameters } from '../src/core/protocols.js';
import { runSimCampaign } from '../tests/async-lab.js';
import { runsWithin, TASKS, taskModel } from './campaign-tasks.js';
import { writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const get = (n: string, d: string) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const [s0, s1] = get('--seeds', '101-130').split('-').map(Number);
const modes = get('--modes', 'sync,async').split(',') as ('sync' | 'async')[];
const opts = JSON.parse(get('--opts', '{}'));
const warm = Number(get('--warm', '0'));
const out = get('--out', 'scale-dev-out.json');
const RIGS = 20, MPM = 1000;
const fStar = 16.853; // bench-scale fStarOf (scale.md)
const t = TASKS[0];
const task = taskModel(t);
const runs: unknown[] = [];
for (let s = s0; s <= s1; s++) {
  for (const mode of modes) {
    const inner = createGpBoAgent({ model: 'gp', candidates: 500, ...opts });
    const calls: { results: number; pending: number; k: number; regrets: number[] }[] = [];
    const agent: Agent = { ...inner, name: inner.name, pendingAware: inner.pendingAware, propose: async (ctx, k) => {
      const ps = await inner.propose(ctx, k);
      calls.push({ results: ctx.history.filter((o) => o.fidelity === 'rig' && !o.fantasy && Number.isFinite(o.reward)).length, pending: ctx.pending?.length ?? 0, k, regrets: ps.map((p) => (fStar - task.trueReward(p as Parameters)) / fStar) });
      return ps;
    } };
    const t0 = performance.now();
    const r = await runSimCampaign({
      mode, seed: s, rigs: variedFleet({ rigs: RIGS, capabilities: ['characterise'], meanMinutes: 30, rigSpread: 0.3, runCv: 0.3, msPerMinute: MPM, seed: s, noise: t.noise, heartbeatMs: 30_000 }), capability: 'characterise',
      truth: (p) => ({ feasible: true, measurements: task.trueProperties(p) }),
      agent, space: task.space, rewardOf: task.rewardOf, measure: task.spec.properties,
      batchSize: RIGS, warmup: warm, candidates: RIGS, rigRuns: 60, digitalMs: (5 / 60) * MPM, timeoutMs: 20 * 30 * MPM, stepMs: 200,
    });
    const tr = r.measured.map((m) => task.trueReward(m.params as Parameters));
    const row = { util: r.utilisation, hours: (r.endedAt - r.startedAt) / 3.6e6, mode, seed: s, to2: runsWithin(tr, fStar, 0.02), to1: runsWithin(tr, fStar, 0.01), to05: runsWithin(tr, fStar, 0.005), regrets: tr.map((x) => (fStar - x) / fStar), calls, wall: (performance.now() - t0) / 1000 };
    runs.push(row);
    process.stderr.write(`${mode} ${s}: to2 ${row.to2} to1 ${row.to1} to05 ${row.to05} (${row.wall.toFixed(1)} s)\n`);
  }
}
writeFileSync(out, JSON.stringify({ opts, runs }));
