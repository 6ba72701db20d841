/**
 * `poreloop broker` and `poreloop rig …` through yargs (only these commands are registered, so
 * the test does not depend on the rest of the CLI).
 */
import yargs from 'yargs';
import type { CommandModule } from 'yargs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../../robots/broker.js';
import { PORELOOP_ACL } from '../../../robots/protocol/acl.js';
import { createRig } from '../../../robots/sdk/index.js';
import { startMosquitto, uniq, waitFor } from '../../../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../../../robots/testing/services.js';
import { withGlobals } from '../common.js';
import { brokerCommandModule } from './broker.js';
import { parseFaults, rigCommandModule } from './rig.js';

// One spy for the whole file: a long-running command (rig simulate) and short ones (rig list)
// run at the same time; each run returns what was written while it ran.
const chunks: string[] = [];
const errors: string[] = [];
beforeAll(() => {
  vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => (chunks.push(String(c)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => (errors.push(String(c)), true));
});
afterAll(() => vi.restoreAllMocks());

async function run(argv: string[]): Promise<{ code: number; stdout: string; last: string }> {
  let code = 0;
  const ctx = { exit: (c: number) => (code = c) };
  const from = chunks.length;
  await withGlobals(yargs(argv))
    .command(brokerCommandModule(ctx) as CommandModule<object, never>)
    .command(rigCommandModule(ctx) as CommandModule<object, never>)
    .strict()
    .fail((msg, e) => {
      if (e) throw e;
      code = 2;
    })
    .exitProcess(false)
    .parseAsync();
  // out.result() writes its document in one call: the last chunk is this run's JSON document
  // even when other commands wrote meanwhile.
  return { code, stdout: chunks.slice(from).join(''), last: chunks[chunks.length - 1] ?? '' };
}

describe('poreloop broker / rig', () => {
  let broker: EmbeddedBroker | undefined;
  afterEach(async () => {
    await broker?.close();
    broker = undefined;
  });

  it('simulates rigs that `rig list` sees and `rig admin` pauses; stops on SIGINT', async () => {
    broker = await startEmbeddedBroker();
    const sim = run(['rig', 'simulate', '--broker', broker.url, '--lab', 'cli', '--count', '2', '--capabilities', 'fabricate', '--json']);
    const listed = async () => JSON.parse((await run(['rig', 'list', '--broker', broker!.url, '--lab', 'cli', '--wait', '100', '--json'])).stdout).rigs as Array<{ rigId: string; status: string }>;
    let rigs: Array<{ rigId: string; status: string }> = [];
    const until = Date.now() + 10_000;
    while (rigs.length < 2 && Date.now() < until) rigs = await listed();
    expect(rigs.map((r) => [r.rigId, r.status])).toEqual([['sim-1', 'online'], ['sim-2', 'online']]);
    expect((await run(['rig', 'admin', 'pause', '--broker', broker.url, '--lab', 'cli', '--rig', 'sim-2'])).code).toBe(0);
    let paused = false;
    while (!paused && Date.now() < until) paused = (await listed()).some((r) => r.rigId === 'sim-2' && r.status === 'paused');
    expect(paused).toBe(true);
    process.emit('SIGINT');
    const done = await sim;
    expect(done.code).toBe(0);
    expect(JSON.parse(done.last)).toMatchObject({ rigs: ['sim-1', 'sim-2'], stoppedBy: 'SIGINT' });
  });

  it('runs the embedded broker until SIGTERM', async () => {
    const p = run(['broker', '--port', '0', '--json']);
    await new Promise((r) => setTimeout(r, 200));
    process.emit('SIGTERM');
    const r = await p;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
  });

  it('exits 2 with a message for bad input', async () => {
    expect((await run(['broker', '--port', '70000'])).code).toBe(2);
    expect((await run(['rig', 'simulate', '--count', '0'])).code).toBe(2);
    expect((await run(['rig', 'simulate', '--lab', 'a/b'])).code).toBe(2);
    expect((await run(['rig', 'admin', 'cancel', '--rig', 'r1'])).code).toBe(2);
    // stop (issue #20) ends one test early: it needs the job too.
    const seen = errors.length;
    expect((await run(['rig', 'admin', 'stop', '--rig', 'r1'])).code).toBe(2);
    expect(errors.slice(seen).join('')).toMatch(/stop needs the jobId/);
    expect((await run(['rig', 'admin', 'explode', '--rig', 'r1'])).code).toBe(2);
    expect((await run(['rig', 'list', '--broker', 'http://x'])).code).toBe(2);
    expect(() => parseFaults('drop=2')).toThrow(/must be in \[0, 1\]/);
    expect(() => parseFaults('gremlins=0.1')).toThrow(/unknown fault "gremlins"/);
    expect(parseFaults('drop=0.1, hang=0')).toEqual({ drop: 0.1, hang: 0 });
  });

  it('rig admin --confirm takes only a whole number of ms ≥ 0: exit 2 otherwise, never a silent 0 (diff review 2026-12-07, item 4)', async () => {
    // Port 1 refuses at once: were the value accepted, the command would fail to connect (exit 1).
    for (const bad of ['abc', '-1', '1.5']) {
      const seen = errors.length;
      expect((await run(['rig', 'admin', 'pause', '--rig', 'r1', '--broker', 'mqtt://127.0.0.1:1', '--confirm', bad])).code, `--confirm ${bad}`).toBe(2);
      expect(errors.slice(seen).join('')).toMatch(/--confirm must be a whole number of ms, 0 or more/);
    }
  });

  it('prints the protocol schemas', async () => {
    const r = await run(['rig', 'schema', 'job', '--json']);
    expect(JSON.parse(r.stdout).required).toContain('jobId');
  });
});

const noMosquitto = skipWithout(await mosquittoMissing('binary'), 'rig admin against an ACL (Mosquitto)');

describe('rig admin is confirmed, never claimed (security review, finding 4)', () => {
  const users = { orchestrator: 'orch-pw-0123456789', r1: 'r1-pw-0123456789', r2: 'r2-pw-0123456789' };
  const as = async <T>(user: keyof typeof users, f: () => Promise<T>): Promise<T> => {
    const saved = { u: process.env.PORELOOP_MQTT_USERNAME, p: process.env.PORELOOP_MQTT_PASSWORD };
    process.env.PORELOOP_MQTT_USERNAME = user;
    process.env.PORELOOP_MQTT_PASSWORD = users[user];
    try {
      return await f();
    } finally {
      for (const [k, v] of [['PORELOOP_MQTT_USERNAME', saved.u], ['PORELOOP_MQTT_PASSWORD', saved.p]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  };

  async function scenario(url: string) {
    const lab = uniq('adm');
    const rig = createRig({ id: 'r1', lab, capabilities: ['fabricate'], broker: { url, username: 'r1', password: users.r1 }, handle: async () => ({ y: 1 }) });
    await rig.start();
    try {
      // Another rig's login may not publish admin commands (ACL): the CLI must not say "sent".
      const seen = errors.length;
      const refused = await as('r2', () => run(['rig', 'admin', 'safety-stop', '--broker', url, '--lab', lab, '--rig', 'r1']));
      expect(refused.code).not.toBe(0);
      expect(errors.slice(seen).join('')).toMatch(/Not authorized|not acknowledged|NOT confirmed|cannot read r1's status/);
      expect(refused.stdout).not.toMatch(/sent safety-stop/);
      // The orchestrator's may: confirmed by the rig's status.
      const ok = await as('orchestrator', () => run(['rig', 'admin', 'safety-stop', '--broker', url, '--lab', lab, '--rig', 'r1', '--json']));
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.last)).toMatchObject({ confirmed: true, status: 'safety-stop' });
    } finally {
      await rig.stop({ graceMs: 0 });
    }
  }

  it.skipIf(noMosquitto)('over Mosquitto with the rig ACL: a refused safety-stop exits non-zero; an allowed one is confirmed', async () => {
    const m = await startMosquitto({ users, acl: PORELOOP_ACL });
    try {
      await scenario(m.url);
    } finally {
      await m.close();
    }
  });

  it('over the embedded broker with --users: the same', async () => {
    const b = await startEmbeddedBroker({ users });
    try {
      await scenario(b.url);
    } finally {
      await b.close();
    }
  });

  it('a pause to a rig that is not there is not confirmed: exit non-zero, saying so', async () => {
    const b = await startEmbeddedBroker();
    try {
      const seen = errors.length;
      const r = await run(['rig', 'admin', 'pause', '--broker', b.url, '--lab', 'nobody', '--rig', 'ghost', '--confirm', '300']);
      expect(r.code).not.toBe(0);
      await waitFor(() => /NOT confirmed: the rig's status is unknown/.test(errors.slice(seen).join('')), 'message');
    } finally {
      await b.close();
    }
  });
});
