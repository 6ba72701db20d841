/**
 * `poreloop broker --users FILE` (issue #14): the standalone embedded broker with login and the
 * rig ACL; without the flag it stays open (docs/security.md).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { freePort, uniq } from '../../../robots/testing/brokers.js';
import { connectMqtt } from '../../../robots/transport/mqtt.js';
import { tmp } from '../../../tests/helpers.js';
import { withGlobals } from '../common.js';
import { brokerCommandModule } from './broker.js';

beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterAll(() => vi.restoreAllMocks());

async function run(argv: string[]): Promise<number> {
  let code = 0;
  const ctx = { exit: (c: number) => (code = c) };
  await withGlobals(yargs(argv))
    .command(brokerCommandModule(ctx) as CommandModule<object, never>)
    .strict()
    .exitProcess(false)
    .parseAsync();
  return code;
}

describe('poreloop broker --users', () => {
  it('requires a login from the file and applies the rig ACL', async () => {
    const dir = tmp('poreloop-users-');
    const file = join(dir, 'users');
    writeFileSync(file, '# rig credentials\norchestrator:o-secret\n\nr1:r1:secret-with-colon\n');
    const port = await freePort();
    const p = run(['broker', '--port', String(port), '--users', file, '--json']);
    const url = `mqtt://127.0.0.1:${port}`;
    const open = (o: { username?: string; password?: string }) => connectMqtt({ url, clientId: uniq('u'), clean: true, connectTimeoutMs: 2000, reconnectMs: 60_000, ...o }, {});
    let orch: Awaited<ReturnType<typeof open>> | undefined;
    for (let i = 0; i < 100 && !orch; i++) orch = await open({ username: 'orchestrator', password: 'o-secret' }).catch(async () => (await new Promise((r) => setTimeout(r, 50)), undefined));
    expect(orch).toBeDefined();
    await expect(open({})).rejects.toThrow(/cannot connect/);
    await expect(open({ username: 'r1', password: 'r1' })).rejects.toThrow(/cannot connect/);
    const r1 = await open({ username: 'r1', password: 'r1:secret-with-colon' });
    await expect(r1.subscribe('poreloop/v1/lab/rigs/r2/jobs', () => undefined)).rejects.toThrow(/Subscribe error|refused/);
    await r1.close();
    await orch!.close();
    process.emit('SIGTERM');
    expect(await p).toBe(0);
  });

  it('exits 2 naming the file and line for a malformed users file', async () => {
    const dir = tmp('poreloop-users-');
    const file = join(dir, 'users');
    writeFileSync(file, 'orchestrator\n');
    expect(await run(['broker', '--port', '0', '--users', file])).toBe(2);
    expect(await run(['broker', '--port', '0', '--users', join(dir, 'missing')])).toBe(2);
  });
});
