import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger/ledger.js';
import { cli, tmp } from './helpers.js';

/**
 * Issue #16 end to end: configs/gdl-pareto.yaml made small — the fibre-gdl twin at 32×32×24,
 * physics, the mobo agent (qNEHVI), two simulated rigs over MQTT on the embedded broker, the
 * ledger — ends with a Pareto front in the run summary, `status` and the export.
 */
const example = YAML.parse(readFileSync(new URL('../configs/gdl-pareto.yaml', import.meta.url), 'utf8'));

describe('a two-objective campaign', () => {
  it('ends with a Pareto front in its summary, status and export', { tags: ['slow'] }, async () => {
    const dir = tmp('poreloop-mo-e2e-');
    const path = join(dir, 'campaign.yaml');
    writeFileSync(path, YAML.stringify({
      ...example,
      name: 'mo-e2e',
      twin: { ...example.twin, size: [32, 32, 24] },
      agent: { name: 'mobo', candidates: 2, batchSize: 2, options: { samples: 8, candidates: 64, initialPoints: 2 } },
      rigs: { ...example.rigs, timeout: '20s', simulate: { ...example.rigs.simulate, rigs: example.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 40 })) } },
      budget: { rigRuns: 4 },
    }));
    const db = join(dir, 'ledger.db');
    const run = await cli(['run', path, '--db', db, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const doc = JSON.parse(run.stdout) as { campaignId: string; status: string; pareto: { measured: { trialId: string; values: number[] }[]; hypervolume: { round: number; hypervolume: number }[] } };
    expect(doc.status).toBe('completed');
    expect(doc.pareto.measured.length).toBeGreaterThanOrEqual(1);
    expect(doc.pareto.hypervolume.length).toBeGreaterThanOrEqual(1);
    // The second round was proposed by qNEHVI from the first round's simulated objectives.
    const l = Ledger.open(db, { readonly: true });
    const trials = l.trials(doc.campaignId);
    // The agent's recorded states: with its proposals (AgentProposed) and, where learning changed it, AgentLearned.
    const snapshots = [...l.documents(doc.campaignId, 'AgentProposed'), ...l.documents(doc.campaignId, 'AgentLearned')].map((d) => d.body.snapshot as { objectives?: { hyper: unknown }[] } | undefined);
    l.close();
    expect(trials.filter((t) => t.round === 2).length).toBeGreaterThan(0);
    // The objectives reached the agent: its snapshot holds one fitted GP per objective.
    expect(snapshots.some((s) => s?.objectives?.length === 2 && s.objectives.every((o) => o.hyper !== null))).toBe(true);

    const status = await cli(['status', doc.campaignId, '--db', db]);
    expect(status.code).toBe(0);
    expect(status.stdout + status.stderr).toMatch(/Pareto front of the measured trials: \d+ trial/);
    const csv = join(dir, 'export.csv');
    expect((await cli(['export', doc.campaignId, '--db', db, '--out', csv])).code).toBe(0);
    const [header, ...rows] = readFileSync(csv, 'utf8').trim().split('\n');
    const col = header.split(',').indexOf('pareto');
    expect(col).toBeGreaterThan(0);
    const onFront = rows.filter((r) => r.split(',')[col] === 'true').map((r) => r.split(',')[header.split(',').indexOf('trial_id')]);
    expect(onFront.sort()).toEqual(doc.pareto.measured.map((p) => p.trialId).sort());
  });
});
