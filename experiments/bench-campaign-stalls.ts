/**
 * Issue #14: the longest event-loop stall of a small demo-gdl campaign (48×48×32 volumes, 8 rig
 * runs, simulated rigs on the embedded broker), per phase of the loop, from a 5 ms timer.
 * Run: nice -n 10 npm run bench -- campaign-stalls [agent]
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import YAML from 'yaml';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
export async function run(args: string[]): Promise<void> {
  const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));
  const agentName = args[0] ?? 'sequence';
  const cfg = { ...demo, name: 'stalls', twin: { ...demo.twin, size: [48, 48, 32] },
    space: { ...demo.space, porosity: { min: 0.6, max: 0.8 }, binderFraction: { min: 0.1, max: 0.3 } },
    agent: agentName === 'sequence' ? { name: 'sequence', candidates: 8, batchSize: 2, options: { steps: [{ agent: 'sobol', trials: 4 }, { agent: 'gp-bo' }] } } : { name: agentName, candidates: 8, batchSize: 2 },
    rigs: { ...demo.rigs, timeout: '60s', simulate: { ...demo.rigs.simulate, rigs: demo.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 40 })) } },
    budget: { rigRuns: 8 }, stop: {} };
  const dir = mkdtempSync(join(tmpdir(), 'stalls-'));
  writeFileSync(join(dir, 'c.yaml'), YAML.stringify(cfg));
  let phase = 'start';
  const worst: Record<string, number> = {};
  let last = performance.now();
  const t = setInterval(() => { const now = performance.now(); worst[phase] = Math.max(worst[phase] ?? 0, now - last - 5); last = now; }, 5);
  const s = await runCampaign(loadCampaign(join(dir, 'c.yaml')), { db: join(dir, 'l.db'), onProgress: (e) => { phase = e.phase; } });
  clearInterval(t);
  console.log(agentName, s.status, s.stopReason, JSON.stringify(Object.fromEntries(Object.entries(worst).map(([k, v]) => [k, Math.round(v)]))));
}
