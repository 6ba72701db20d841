/**
 * `poreloop worker` through yargs (issue #21): bad input exits 2 naming the flag; on a real
 * Mosquitto it announces itself (retained status), serves a physics task, and a SIGTERM stops
 * it cleanly (status cleared, exit 0).
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { uniq, waitFor } from '../../../robots/testing/brokers.js';
import { useMosquitto } from '../../../robots/testing/mosquitto-suite.js';
import { mosquittoMissing, skipWithout } from '../../../robots/testing/services.js';
import { MqttExecutor } from '../../exec/mqtt-executor.js';
import { simulateInPool } from '../../physics/pool.js';
import { withGlobals } from '../common.js';
import { workerCommandModule } from './worker.js';

const errors: string[] = [];
beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (errors.push(String(c)), true));
});
afterAll(() => vi.restoreAllMocks());

async function run(argv: string[]): Promise<number> {
  let code = 0;
  const ctx = { exit: (c: number) => (code = c) };
  await withGlobals(yargs(argv))
    .command(workerCommandModule(ctx) as CommandModule<object, never>)
    .strict()
    .fail((_msg, e) => {
      if (e) throw e;
      code = 2;
    })
    .exitProcess(false)
    .parseAsync();
  return code;
}

describe('poreloop worker', () => {
  it.each([
    [['--broker', 'file:///etc/passwd'], /--broker: broker URL scheme "file:" is not allowed/],
    [['--broker', 'mqtt://127.0.0.1:1', '--kinds', 'physics,cooking'], /--kinds: unknown kind "cooking"/],
    [['--broker', 'mqtt://127.0.0.1:1', '--kinds', ''], /--kinds: expected a comma-separated list of physics, twin, surrogate/],
    [['--broker', 'mqtt://127.0.0.1:1', '--concurrency', '0'], /--concurrency: expected an integer from 1 to 256/],
    [['--broker', 'mqtt://127.0.0.1:1', '--lab', 'a/b'], /--lab: expected a lab name/],
  ])('%j exits 2 naming the flag', async (args, message) => {
    const from = errors.length;
    expect(await run(['worker', ...args])).toBe(2);
    expect(errors.slice(from).join('')).toMatch(message);
  });
});

const skip = skipWithout(await mosquittoMissing('binary'), 'poreloop worker on Mosquitto');

describe.skipIf(skip)('poreloop worker on Mosquitto', () => {
  const m = useMosquitto();

  it('serves a physics task until SIGTERM', async () => {
    const lab = uniq('cli');
    const done = run(['worker', '--broker', m.url, '--lab', lab, '--kinds', 'physics', '--concurrency', '1', '--id', 'cli-w']);
    const ex = await MqttExecutor.connect({ url: m.url, lab });
    try {
      await ex.waitForCapacity('physics', 1, 60_000);
      expect(ex.workers().map((w) => [w.workerId, w.kinds, w.concurrency])).toEqual([['cli-w', ['physics'], 1]]);
      // A 12³ volume, pore with a solid slab: porosity is exact.
      const data = new Uint8Array(12 ** 3);
      data.fill(1, 0, 12 * 12 * 3);
      const r = await simulateInPool(ex, { data, shape: [12, 12, 12], voxelSize: 1, phases: { 0: 'pore', 1: 'solid' } }, { properties: ['porosity'] });
      expect(r.ok && r.value.properties.porosity).toBeCloseTo(0.75, 12);
      process.emit('SIGTERM');
      expect(await done).toBe(0);
      // A clean stop clears the retained status.
      await waitFor(() => ex.workers().length === 0, 'the retained status cleared', 10_000);
      expect(ex.workers()).toEqual([]);
    } finally {
      await ex.close();
    }
  });

  it('a second worker with the same --id: one of the two exits 2 saying why, the other serves on (issue #21 scale review)', async () => {
    const lab = uniq('cli-dup');
    const from = errors.length;
    const args = ['worker', '--broker', m.url, '--lab', lab, '--kinds', 'physics', '--concurrency', '1', '--id', 'twin-id'];
    const first = run(args);
    const ex = await MqttExecutor.connect({ url: m.url, lab });
    try {
      await ex.waitForCapacity('physics', 1, 60_000);
      const second = run(args);
      const exited = await Promise.race([first, second]);
      expect(exited).toBe(2);
      expect(errors.slice(from).join('')).toMatch(/another worker connected with the same id "twin-id".*give each worker its own --id/);
      await ex.waitForCapacity('physics', 1, 60_000);
      process.emit('SIGTERM');
      expect((await Promise.all([first, second])).sort()).toEqual([0, 2]);
    } finally {
      await ex.close();
    }
  });
});
