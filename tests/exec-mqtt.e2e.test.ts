/**
 * A campaign with `exec: mqtt` (issue #21) on a real Mosquitto: its physics (the P-model and
 * the simulated rigs' truth) runs on a `poreloop worker` started here, its twin volumes on a
 * `twin` worker, the ledger has one
 * TrialScored per proposed trial, the orchestrator speaks MQTT 5 (broker.protocol auto), and
 * the fleet records the worker for the dashboard.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniq, waitFor } from '../robots/testing/brokers.js';
import { useMosquitto } from '../robots/testing/mosquitto-suite.js';
import { connectComputeExecutor, startComputeWorker, twinVolumes } from '../src/compose/compute-worker.js';
import { startMqttWorker } from '../src/exec/mqtt-worker.js';
import { generateTwinAsync } from '../twins/async.js';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import { Ledger } from '../src/ledger/ledger.js';
import { fleet } from '../src/report/model.js';
import { mosquittoMissing, skipWithout, tmp } from './helpers.js';

const skip = skipWithout(await mosquittoMissing('binary'), 'campaign with exec: mqtt');

describe.skipIf(skip)('campaign with exec: mqtt', () => {
  const m = useMosquitto({ extra: ['set_tcp_nodelay true'] });

  /** A small fibre-gdl campaign with `exec: mqtt` on this broker, run to completion: its folder, log lines and id. */
  async function campaign(lab: string, o: { name: string; seed: number; size: string; predict: string; agent: string }) {
    const dir = tmp();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(
      cfg,
      [
        `name: ${o.name}`,
        `seed: ${o.seed}`,
        `lab: ${lab}`,
        `twin: { name: fibre-gdl, size: ${o.size}, voxelSize: 2.0, fixed: { fibreDiameter: 7.0 } }`,
        'space: { porosity: { min: 0.6, max: 0.85 }, binderFraction: { min: 0.05, max: 0.3 } }',
        `predict: ${o.predict}`,
        'reward: "porosity / tau_z"',
        `agent: ${o.agent}`,
        'rigs: { pipeline: [characterise], measure: [porosity, tau_z], timeout: 120s, simulate: { rigs: [{ id: r1, capabilities: [characterise], latencyMs: 50 }] } }',
        'budget: { rigRuns: 4 }',
        `broker: ${m.url}`,
        'exec: mqtt',
      ].join('\n') + '\n',
    );
    const logs: string[] = [];
    let id = '';
    const summary = await runCampaign(loadCampaign(cfg, {}, {}), { db: join(dir, 'l.db'), log: (l) => logs.push(l), onStart: (c) => (id = c) });
    expect(summary.status).toBe('completed');
    return { dir, logs, id };
  }

  it('runs its physics on a compute worker and records each trial once', async () => {
    const lab = uniq('exec');
    const worker = await startComputeWorker({ broker: m.url, lab, kinds: ['physics'], concurrency: 1, workerId: 'e2e-w', env: {} });
    // A twin worker too: the campaign then generates its volumes there.
    const twinWorker = await startComputeWorker({ broker: m.url, lab, kinds: ['twin'], concurrency: 1, workerId: 'e2e-t', env: {} });
    try {
      const { dir, logs, id } = await campaign(lab, {
        name: 'exec-mqtt',
        seed: 3,
        size: '[24, 24, 16]',
        predict: '{ properties: [porosity, tau_z], physicsPerRound: 4, realisations: { min: 1, max: 1 } }',
        agent: '{ name: sobol, candidates: 4, batchSize: 2 }',
      });
      expect(logs.some((l) => /orchestrator on .* over MQTT 5/.test(l))).toBe(true);
      // Every simulation of the campaign ran on the physics worker (exec: mqtt has no local
      // pool), and every twin volume on the twin worker: none generated here.
      expect(worker.completed).toBeGreaterThan(0);
      expect(twinWorker.completed).toBeGreaterThan(0);
      expect(logs).toContain(`twin volumes: ${twinWorker.completed} on workers, 0 here`);
      expect(logs.filter((l) => /generating it here/.test(l))).toEqual([]);
      expect(worker.failed + twinWorker.failed).toBe(0);
      const l = Ledger.open(join(dir, 'l.db'), { readonly: true });
      try {
        const per = l.db.prepare("SELECT json_extract(body, '$.trialId') AS t, count(*) AS n FROM documents WHERE campaign_id = ? AND type = 'TrialScored' GROUP BY t").all(id) as Array<{ n: number }>;
        const proposed = (l.db.prepare("SELECT count(*) AS n FROM documents WHERE campaign_id = ? AND type = 'TrialProposed'").get(id) as { n: number }).n;
        expect(per).toHaveLength(proposed);
        expect(per.every((r) => r.n === 1)).toBe(true);
        expect(fleet(l, id).workers.map((w) => w.workerId).sort()).toEqual(['e2e-t', 'e2e-w']);
      } finally {
        l.close();
      }
    } finally {
      await worker.stop();
      await twinWorker.stop();
    }
  });

  it('fits its surrogate on a surrogate worker and records which worker made the weights', async () => {
    const lab = uniq('exec-sur');
    const worker = await startComputeWorker({ broker: m.url, lab, kinds: ['physics', 'twin', 'surrogate'], concurrency: 1, workerId: 'e2e-s', env: {} });
    try {
      const { dir, logs, id } = await campaign(lab, {
        name: 'exec-mqtt-surrogate',
        seed: 4,
        size: '[16, 16, 12]',
        predict: '{ properties: [porosity, tau_z], physicsPerRound: 8, realisations: { min: 1, max: 1 }, retrainEvery: 8, surrogate: { members: 2, epochs: 10, patience: 10 } }',
        agent: '{ name: sobol, candidates: 8, batchSize: 2 }',
      });
      const l = Ledger.open(join(dir, 'l.db'), { readonly: true });
      try {
        const trained = (l.db.prepare("SELECT body FROM documents WHERE campaign_id = ? AND type = 'ModelTrained'").all(id) as Array<{ body: string }>).map((r) => JSON.parse(r.body)).filter((b) => b.kind === 'mlp-ensemble');
        expect(trained.length).toBeGreaterThan(0);
        for (const t of trained) expect(t.state.trainedOn).toMatchObject({ on: 'worker', workerId: 'e2e-s', probeMaxDiff: 0 });
        expect(logs).toContain(`surrogate fits: ${trained.length} on workers, 0 here`);
      } finally {
        l.close();
      }
    } finally {
      await worker.stop();
    }
  });

  it('a volume sent to a twin worker that then leaves is generated here: same bytes, no hang', async () => {
    const lab = uniq('twinlost');
    const logs: string[] = [];
    // A twin worker that takes the volume and never finishes it, then dies.
    let took = 0;
    const hung = await startMqttWorker({ url: m.url, lab, workerId: 'hangs', kinds: ['twin'], handlers: { generate: () => (took++, new Promise(() => {})) }, heartbeatMs: 200 });
    const ex = await connectComputeExecutor(m.url, lab, { env: {}, log: (l) => logs.push(l) });
    try {
      await ex.waitForCapacity('twin', 1);
      const volumes = twinVolumes(ex, (l) => logs.push(l));
      const task = { twin: 'fibre-gdl', params: { porosity: 0.7, binderFraction: 0.1, fibreDiameter: 7 }, seed: 5, size: [16, 16, 12] as [number, number, number], voxelSize: 2 };
      const out = volumes.generate(task);
      await waitFor(() => took === 1, 'the twin worker took the volume');
      await hung.kill(); // Last Will: offline, the task goes back to the queue with no twin worker online
      const got = await out;
      const here = await generateTwinAsync(task.twin, task.params, { seed: task.seed, size: task.size, voxelSize: task.voxelSize });
      expect(Buffer.compare(Buffer.from(got.voxels.data), Buffer.from(here.voxels.data))).toBe(0);
      expect(volumes.counts).toEqual({ workers: 0, here: 1 });
      expect(logs.some((l) => /twin volume on the workers failed \(.*no twin worker online for 5000 ms\); generating it here/.test(l))).toBe(true);
    } finally {
      await ex.close();
    }
  });

  it('refuses exec: mqtt on the embedded broker when the config loads', () => {
    const dir = tmp();
    const cfg = join(dir, 'c.yaml');
    writeFileSync(cfg, 'name: x\nspace: { a: { min: 0, max: 1 } }\nreward: a\nagent: { name: random }\nrigs: { pipeline: [c], measure: [a] }\nbudget: { rigRuns: 1 }\nexec: mqtt\n');
    expect(() => loadCampaign(cfg, {}, {})).toThrow(/exec: compute workers need an MQTT 5 broker/);
  });

  it('the executor alone: no worker online means tasks wait (and say so once), then run when one comes', async () => {
    const lab = uniq('wait');
    const logs: string[] = [];
    const ex = await connectComputeExecutor(m.url, lab, { env: {}, log: (l) => logs.push(l) });
    try {
      const data = new Uint8Array(8 ** 3);
      const pending = ex.run<{ ok: boolean; value: { properties: { porosity: number } } }>('simulate', { voxels: { data, shape: [8, 8, 8], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } }, request: { properties: ['porosity'] } });
      await waitFor(() => logs.some((l) => /no physics worker online/.test(l)), 'the no-worker notice', 10_000);
      // A second task pumps the queue again while still no worker is online: no second notice.
      const second = ex.run('simulate', { voxels: { data, shape: [8, 8, 8], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } }, request: { properties: ['porosity'] } });
      await new Promise((r) => setImmediate(r));
      expect(logs.filter((l) => /no physics worker online/.test(l))).toHaveLength(1);
      const worker = await startComputeWorker({ broker: m.url, lab, kinds: ['physics'], concurrency: 1, env: {} });
      const r = await pending;
      expect(r.ok && r.value.properties.porosity).toBe(1);
      await second;
      expect(logs.filter((l) => /no physics worker online/.test(l))).toHaveLength(1);
      await worker.stop();
    } finally {
      await ex.close();
    }
  });
});
