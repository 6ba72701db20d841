import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, startTestBroker, uniq, type MosquittoProcess } from '../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../robots/testing/services.js';
import { startMqttWorker } from '../src/exec/mqtt-worker.js';
import { cli, tmp } from './helpers.js';

const skip = skipWithout(await mosquittoMissing('binary'), 'doctor with exec: mqtt');

/** A valid campaign config with `exec: mqtt` on `broker` and `lab`. */
function config(broker: string, lab: string): string {
  const cfg = join(tmp(), 'c.yaml');
  writeFileSync(
    cfg,
    [
      'name: doc-compute',
      'seed: 3',
      `lab: ${lab}`,
      'twin: { name: fibre-gdl, size: [24, 24, 16], voxelSize: 2.0, fixed: { fibreDiameter: 7.0 } }',
      'space: { porosity: { min: 0.6, max: 0.85 }, binderFraction: { min: 0.05, max: 0.3 } }',
      'predict: { properties: [porosity, tau_z], physicsPerRound: 4, realisations: { min: 1, max: 1 } }',
      'reward: "porosity / tau_z"',
      'agent: { name: sobol, candidates: 4, batchSize: 2 }',
      'rigs: { pipeline: [characterise], measure: [porosity, tau_z], timeout: 120s, simulate: { rigs: [{ id: r1, capabilities: [characterise], latencyMs: 50 }] } }',
      'budget: { rigRuns: 4 }',
      `broker: ${broker}`,
      'exec: mqtt',
    ].join('\n') + '\n',
  );
  return cfg;
}

/** Issue #21 scale review: `doctor --config` with `exec: mqtt` checks what the run needs — physics workers and an MQTT 5 broker. */
describe.skipIf(skip)('poreloop doctor --config with exec: mqtt', () => {
  let m: MosquittoProcess;
  beforeAll(async () => {
    m = await startMosquitto({});
  });
  afterAll(async () => {
    await m?.close();
  });
  const doctor = (cfg: string) => cli(['doctor', '--db', join(tmp(), 'none.db'), '--config', cfg, '--wait', '300']);

  it('no physics worker online: the workers check fails with how to start one', async () => {
    const lab = uniq('docw');
    const r = await doctor(config(m.url, lab));
    expect(r.stdout).toMatch(/ok {3}compute broker: .*MQTT 5, maximum packet size/);
    expect(r.stdout).toMatch(new RegExp(`FAIL workers: no compute worker on lab "${lab}".*\\n\\s+fix: .*poreloop worker --broker .* --lab ${lab} --kinds physics`));
    expect(r.code).toBe(1);
  });

  it('a physics worker online: the workers check passes', async () => {
    const lab = uniq('docw');
    const w = await startMqttWorker({ url: m.url, lab, workerId: 'doc-w', kinds: ['physics'], handlers: { simulate: () => 0 } });
    try {
      const r = await doctor(config(m.url, lab));
      expect(r.stdout).toMatch(/ok {3}workers: doc-w online \[physics\] × 1.*physics 1/);
      expect(r.code).toBe(0);
    } finally {
      await w.stop();
    }
  });

  it('a broker that speaks only MQTT 3.1.1: the compute broker check fails, though the rigs\' connection works', async () => {
    const aedes = await startTestBroker('aedes');
    try {
      const r = await doctor(config(aedes.url, uniq('doc311')));
      expect(r.stdout).toMatch(/ok {3}broker: /);
      expect(r.stdout).toMatch(/FAIL compute broker: cannot connect to MQTT 5 broker.*\n\s+fix: exec: mqtt needs an MQTT 5 broker/);
      expect(r.code).toBe(1);
    } finally {
      await aedes.close();
    }
  });
});
