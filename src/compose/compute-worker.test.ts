/**
 * Surrogate fits on compute workers (issue #21, `poreloop worker --kinds surrogate`) against a
 * real Mosquitto: the `train` task goes to a surrogate worker and the weights it returns,
 * loaded here, predict exactly what the worker's model predicted; with no surrogate worker the
 * fit runs here; a worker killed mid-fit has its task redelivered and completed once elsewhere.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { uniq, waitFor } from '../../robots/testing/brokers.js';
import { useMosquitto } from '../../robots/testing/mosquitto-suite.js';
import { mosquittoMissing, skipWithout } from '../../robots/testing/services.js';
import type { Dataset } from '../core/protocols.js';
import { createRng } from '../core/rng.js';
import type { MqttExecutor } from '../exec/mqtt-executor.js';
import type { MqttWorker } from '../exec/mqtt-worker.js';
import { DeepEnsemble, type EnsembleOptions } from '../surrogate/ensemble.js';
import { connectComputeExecutor, startComputeWorker, WorkerTrainedSurrogate } from './compute-worker.js';

/** A small smooth response of two inputs, seeded. */
function dataset(n: number, seed: number): Dataset {
  const rng = createRng(seed);
  const x = Array.from({ length: n }, () => [rng.next(), rng.next()]);
  return { inputs: ['a', 'b'], outputs: ['k'], x, y: x.map(([a, b]) => [Math.sin(3 * a) + b * b]) };
}

/** Tiny and fast: two members of a 8-unit MLP. */
const small = (epochs: number): EnsembleOptions => ({ members: 2, architecture: { kind: 'mlp', trunk: [8], head: [], activation: 'tanh' }, epochs, patience: epochs, log: () => {} });
const probe = [[0.1, 0.9], [0.5, 0.5], [0.93, 0.02]];

const skip = skipWithout(await mosquittoMissing('binary'), 'surrogate compute workers');

describe.skipIf(skip)('surrogate fits on compute workers (Mosquitto)', () => {
  const m = useMosquitto();
  const workers: MqttWorker[] = [];
  const executors: MqttExecutor[] = [];
  afterAll(async () => {
    for (const e of executors) await e.close().catch(() => undefined);
    for (const w of workers) await w.kill().catch(() => undefined);
  });
  const worker = async (lab: string, workerId: string) => {
    const w = await startComputeWorker({ broker: m.url, lab, kinds: ['surrogate'], concurrency: 1, workerId, heartbeatMs: 200 });
    workers.push(w);
    return w;
  };
  const producer = async (lab: string) => {
    const ex = await connectComputeExecutor(m.url, lab, { ackTimeoutMs: 3000, leaseMs: 3000 });
    executors.push(ex);
    return ex;
  };

  it('a train task runs on the surrogate worker; the weights loaded here predict what its model predicted, and what a fit here gives', async () => {
    const lab = uniq('sur');
    const w = await worker(lab, 'sw1');
    const ex = await producer(lab);
    await ex.waitForCapacity('surrogate', 1);
    const s = new WorkerTrainedSurrogate(ex, small(20));
    const data = dataset(24, 1);
    await s.fit(data, { seed: 7 });
    expect(s.provenance).toMatchObject({ on: 'worker', workerId: 'sw1' });
    // The worker predicted its probe rows before saving; the loaded weights reproduce them.
    expect(s.provenance!.probeMaxDiff).toBe(0);
    expect(w.completed).toBe(1);
    expect(s.counts).toEqual({ workers: 1, here: 0 });
    // A warm-started refit carries the current weights to the worker and comes back from it.
    const more = dataset(30, 2);
    await s.fit(more, { seed: 8, warmStart: true });
    expect(s.provenance).toMatchObject({ on: 'worker', workerId: 'sw1', probeMaxDiff: 0 });
    // The same fits here, on the same backend, give the same predictions: fits are deterministic.
    const local = new DeepEnsemble(small(20));
    await local.fit(data, { seed: 7 });
    await local.fit(more, { seed: 8, warmStart: true });
    if ((await import('../surrogate/train-task.js')).activeBackend() === s.provenance!.backend) {
      expect(await s.predict(probe)).toEqual(await local.predict(probe));
    }
    expect(s.calibration).toEqual(local.calibration);
  }, 60_000);

  it('with no surrogate worker online the fit runs here', async () => {
    const ex = await producer(uniq('sur-none'));
    const s = new WorkerTrainedSurrogate(ex, small(5));
    await s.fit(dataset(12, 3), { seed: 1 });
    expect(s.provenance).toMatchObject({ on: 'here' });
    expect(s.counts).toEqual({ workers: 0, here: 1 });
    expect(ex.stats.sent).toBe(0);
    expect((await s.predict(probe)).mean).toHaveLength(3);
  }, 30_000);

  it('weights a worker says it fitted on other data are refused: the fit is made here and the campaign goes on', async () => {
    const lab = uniq('sur-forged');
    await worker(lab, 'forger');
    const ex = await producer(lab);
    await ex.waitForCapacity('surrogate', 1);
    // The worker's answer as a stale or forged result would come: another data hash.
    const run = ex.run.bind(ex);
    ex.run = (async (task: string, payload: unknown, options?: Parameters<typeof run>[2]) => ({ ...((await run(task, payload, options)) as object), dataHash: 'forged' })) as typeof ex.run;
    const lines: string[] = [];
    const s = new WorkerTrainedSurrogate(ex, small(5), (l) => lines.push(l));
    await s.fit(dataset(12, 4), { seed: 2 });
    expect(s.provenance).toMatchObject({ on: 'here' });
    expect(lines.some((l) => l.includes('forger') && l.includes('refused'))).toBe(true);
    const local = new DeepEnsemble(small(5));
    await local.fit(dataset(12, 4), { seed: 2 });
    expect(await s.predict(probe)).toEqual(await local.predict(probe));
  }, 60_000);

  it('a worker killed mid-fit: the task is sent again, completes once on another worker', async () => {
    const lab = uniq('sur-kill');
    const dies = await worker(lab, 'dies');
    const ex = await producer(lab);
    await ex.waitForCapacity('surrogate', 1);
    const s = new WorkerTrainedSurrogate(ex, small(150));
    const fit = s.fit(dataset(40, 4), { seed: 3 });
    await waitFor(() => dies.running === 1, 'the first worker took the fit');
    const lives = await worker(lab, 'lives');
    // No DISCONNECT: the broker publishes its Last Will. Its fit thread runs on until the pool
    // closes, but whatever it computes can no longer reach the producer.
    const killed = dies.kill();
    await fit;
    await killed;
    expect(s.provenance).toMatchObject({ on: 'worker', workerId: 'lives', probeMaxDiff: 0 });
    expect(lives.completed).toBe(1);
    expect(ex.stats.redelivered).toBeGreaterThanOrEqual(1);
    expect(ex.stats.completed).toBe(1);
    expect(ex.stats.duplicates).toBe(0);
    expect(ex.pending).toBe(0);
  }, 90_000);
});
