import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { agentRegistry } from '../../agents/index.js';
import { loadCampaign, runCampaign } from '../../src/compose/campaign.js';
import { systemClock, type Agent, type ParameterSpace, type Predictor } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';
import { Ledger, issueCommand } from '../../src/ledger/ledger.js';
import { campaignMachine } from '../../src/orchestrator/campaign.machine.js';
import { CampaignRuntime } from '../../src/orchestrator/runtime.js';
import { compileReward } from '../../src/reward/expression.js';
import { fakeAgent, fakePredictor, fakeRig } from '../fakes/index.js';
import { cliNodeArgs } from '../cli-child.js';
import { cli, tmp } from '../helpers.js';

/**
 * Issue #14, liveness: campaigns that never ended. Each case below ran forever (or until
 * SIGKILL) before its fix; now each ends with its cause recorded in the ledger and shown by
 * `status`. No assertion depends on machine speed: the time limits only bound a hang.
 */

const reward = compileReward('y', ['y']);

/** The runtime and machine on fakes, as src/compose wires them. */
async function runOnFakes(o: { space: ParameterSpace; agent: Agent; rig: ReturnType<typeof fakeRig>; measure?: string[]; rigRuns: number; predictor?: Predictor }) {
  const ledger = Ledger.open(join(tmp('poreloop-live-'), 'l.db'));
  ledger.append('c', 'CampaignStarted', { name: 'c', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
  const runtime = new CampaignRuntime({
    // The campaign's sandboxed reward, which throws on a name missing from its scope.
    ledger, campaignId: 'c', agent: o.agent, space: o.space, predictor: o.predictor ?? fakePredictor(), rewardOf: (p) => reward.evaluate(p), rig: o.rig, pipeline: ['measure'],
    candidatesPerRound: 4, batchSize: 2, timeoutMs: 5000, maxAttempts: 1, seed: 1, clock: systemClock, rng: createRng(1), fixed: {}, protocol: '1.0', measure: o.measure,
  });
  const machine = campaignMachine.provide({
    actors: Object.fromEntries(Object.entries(runtime.actors()).map(([k, f]) => [k, fromPromise(({ input }: { input: any }) => (f as any)(input))])) as never,
  });
  runtime.start();
  const actor = createActor(machine, { input: { campaignId: 'c', startedAt: 0, limits: { rigRuns: o.rigRuns, failures: 10, approval: false } } });
  actor.start();
  await toPromise(actor);
  await runtime.close();
  return { ledger, snap: actor.getSnapshot() };
}

describe('campaigns that never ended (issue #14)', () => {
  it('a pool that runs out before the rig budget stops with "pool exhausted"', async () => {
    const pool = [{ x: 0.1 }, { x: 0.5 }, { x: 0.9 }];
    const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }], pool };
    const { ledger, snap } = await runOnFakes({ space, agent: agentRegistry.random({}), rig: fakeRig(), rigRuns: 10 });
    // Before: 26 149 empty rounds in 10 min, never ending. Now: one empty round ends it.
    expect(snap.context.stopReason).toBe('pool exhausted: all 3 rows of space.pool have been proposed');
    expect(ledger.campaign('c')).toMatchObject({ status: 'completed', stopReason: 'pool exhausted: all 3 rows of space.pool have been proposed' });
    expect(ledger.documents('c', 'RoundStarted').length).toBeLessThanOrEqual(pool.length + 1);
    expect(ledger.trials('c')).toHaveLength(3);
  }, 30_000);

  it('a result without a measured name abandons the trial, naming the missing and the expected keys', async () => {
    // The rig reports "Y" where the campaign measures "y": the reward threw, the error was
    // swallowed and the trial never completed.
    const rig = fakeRig((_job, emit) => emit({ type: 'result', measurements: { Y: 0.5 }, final: true }));
    const space: ParameterSpace = { parameters: [{ kind: 'continuous', name: 'x', min: 0, max: 1 }] };
    // As in a twin-less campaign before its surrogate has data: the prediction is NaN.
    const predictor: Predictor = { score: async (c) => c.map(() => ({ properties: { y: { mean: Number.NaN, std: Number.NaN } }, fidelity: 'simulation' as const })) };
    const { ledger, snap } = await runOnFakes({ space, agent: fakeAgent(), rig, measure: ['y'], rigRuns: 2, predictor });
    expect(snap.context.stopReason).toBe('rig-run budget spent');
    const selected = ledger.trials('c').filter((t) => t.selectedRank !== null);
    expect(selected.length).toBe(2);
    expect(selected.every((t) => t.status === 'abandoned')).toBe(true);
    const reasons = ledger.documents('c', 'TrialAbandoned').map((d) => d.body.reason);
    expect(reasons).toHaveLength(2);
    for (const r of reasons) expect(r).toBe('the rigs\' measurements lack "y": measurement keys must be the names in rigs.measure [y]; the rigs sent [Y]');
  }, 30_000);
});

/** A twin-less campaign whose only rig accepts every job and never finishes it. */
function hangingCampaign(patch: Record<string, unknown> = {}) {
  const dir = tmp('poreloop-hang-');
  const path = join(dir, 'hang.yaml');
  writeFileSync(path, YAML.stringify({
    name: 'hang',
    seed: 3,
    lab: `hang${process.pid}${Math.floor(Math.random() * 1e6)}`,
    space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 } },
    reward: 'score',
    agent: { name: 'random', candidates: 2, batchSize: 1 },
    rigs: {
      pipeline: ['characterise'], measure: ['score'], timeout: '10m', maxAttempts: 1,
      simulate: { rigs: [{ id: 'char-1', capabilities: ['characterise'], latencyMs: 10, faults: { hang: 1 } }] },
    },
    budget: { rigRuns: 2 },
    broker: 'embedded',
    ...patch,
  }));
  return { dir, path, db: join(dir, 'ledger.db') };
}

/**
 * How a child runs the CLI (tests/cli-child.ts): the built one when the last build is newer than
 * every source — `npm test` and `npm run test:faults` build first — else the sources through tsx,
 * so a run of this file straight after an edit never tests stale code. Decided once per file.
 */
const CLI = cliNodeArgs();

function child(args: string[]) {
  const p = spawn(process.execPath, [...CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  p.stdout.on('data', (d) => (output += d));
  p.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => p.once('exit', (code, signal) => r(code ?? (signal ? 128 : null))));
  return { p, exited, output: () => output };
}

async function until<T>(f: () => T | undefined, ms: number, what: string): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The campaign id once its first job is dispatched (the rig then hangs on it). */
function whenStuck(db: string): () => string | undefined {
  return () => {
    try {
      const l = Ledger.open(db, { readonly: true });
      try {
        const c = l.campaigns()[0];
        return c && l.jobs(c.id).length > 0 ? c.id : undefined;
      } finally {
        l.close();
      }
    } catch {
      return undefined;
    }
  };
}

/** A hanging campaign running in this process, once its first job is out, and its ledger. */
async function stuckCampaign() {
  const c = hangingCampaign();
  const running = runCampaign(loadCampaign(c.path), { db: c.db });
  const id = await until(whenStuck(c.db), 60_000, 'the first job');
  return { running, id, l: Ledger.open(c.db) };
}

function stopReason(db: string, id: string): { status: string; stopReason: string | null } {
  const l = Ledger.open(db, { readonly: true });
  try {
    return l.campaign(id)!;
  } finally {
    l.close();
  }
}

describe('a campaign stuck on a hung rig still ends (issue #14)', () => {
  // Issue #21 review: the budget completes the campaign, as the machine's own wall-time rule
  // does, and gives up the hung trial (abandoned, its job cancelled) in both modes. It used to
  // stop it (`stopped`), leaving the trial in flight for good — a resume stopped again at once.
  it.each(['sync', 'async'] as const)('at budget.wallTime (%s), completed with the cause recorded and shown by status, the hung trial given up', async (mode) => {
    // 10 s, not less: the budget counts from the campaign's start, and on a loaded machine the
    // set-up (broker, rigs, the proposal worker) must not eat it before the job hangs.
    const c = hangingCampaign({ budget: { rigRuns: 2, wallTime: '10s' }, loop: { mode } });
    const s = await runCampaign(loadCampaign(c.path), { db: c.db });
    expect(s.status).toBe('completed');
    expect(s.stopReason).toMatch(/^wall-time budget spent \(in state awaitingRigs\)$/);
    const l = Ledger.open(c.db, { readonly: true });
    try {
      const selected = l.trials(s.campaignId).filter((t) => t.selectedRank !== null);
      expect(selected).toHaveLength(1);
      expect(selected[0].status).toBe('abandoned');
      expect(l.documents(s.campaignId, 'TrialAbandoned').map((d) => d.body)).toEqual([
        { trialId: selected[0].id, reason: 'the campaign ended (wall-time budget spent (in state awaitingRigs)) before its result', kind: 'campaign-end' },
      ]);
      // Its job ends with it, in the ledger, whether or not the hung rig ever answers the cancel:
      // the answers came after the runtime closed and the jobs stayed open (review of 636da6c).
      expect(l.jobs(s.campaignId).filter((j) => j.status === 'dispatched' || j.status === 'accepted' || j.status === 'running')).toEqual([]);
      expect(l.documents(s.campaignId, 'JobFailed').map((d) => d.body.reason)).toEqual(['cancelled: the campaign ended (wall-time budget spent (in state awaitingRigs))']);
    } finally {
      l.close();
    }
    const st = await cli(['status', s.campaignId, '--db', c.db]);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/completed — wall-time budget spent/);
  }, 120_000);

  // A guard rather than a probe: stop already worked on a hung rig; it did not in the empty-round
  // loop (rounds that never left the microtask queue), which the first test above ends.
  it('on `poreloop stop`', async () => {
    const { running, id, l } = await stuckCampaign();
    issueCommand(l, id, 'stop', { by: 'test' });
    l.close();
    const s = await running;
    expect(s).toMatchObject({ status: 'stopped', stopReason: 'operator command' });
  }, 120_000);

  it('when another process takes its lease, it stops at once and writes nothing more (no snapshot, no CampaignStopped)', async () => {
    const { running, id, l } = await stuckCampaign();
    // The takeover a `resume` on another host does once the lease expired.
    l.db.prepare("UPDATE leases SET pid = 999999, host = 'other-host', started_at = 'later' WHERE campaign_id = ?").run(id);
    const snapshot = JSON.stringify(l.campaign(id)!.snapshot);
    const documents = l.db.prepare('SELECT count(*) AS n FROM documents WHERE campaign_id = ?').get(id) as { n: number };
    await expect(running).rejects.toThrow(/lease lost: another process took campaign .* over/);
    expect(l.documents(id, 'CampaignStopped')).toEqual([]);
    expect(JSON.stringify(l.campaign(id)!.snapshot)).toBe(snapshot);
    expect((l.db.prepare('SELECT count(*) AS n FROM documents WHERE campaign_id = ?').get(id) as { n: number }).n).toBe(documents.n);
    expect(l.campaign(id)!.status).toBe('running'); // the new owner's to decide
    l.close();
  }, 120_000);

  // Real processes and leases, ~50 s under load: the faults tier only (issue #15).
  it('on SIGTERM (a real process), and one writer per campaign: a second `resume` is refused with exit 2, a dead owner\'s lease is taken over', { tags: ['faults'], timeout: 240_000 }, async () => {
    const c = hangingCampaign();
    const first = child(['run', c.path, '--db', c.db]);
    const id = await until(whenStuck(c.db), 90_000, `the first job\n${first.output()}`);

    // While it runs, a second process may not run the same campaign.
    const second = child(['resume', id, '--db', c.db]);
    expect(await second.exited, second.output()).toBe(2);
    expect(second.output()).toMatch(new RegExp(`campaignId: campaign ${id} is being run by process ${first.p.pid} on `));
    const st = await cli(['status', id, '--db', c.db]);
    expect(st.stdout).toMatch(new RegExp(`run by process ${first.p.pid} on `));

    first.p.kill('SIGTERM');
    expect(await first.exited, first.output()).toBe(0);
    expect(stopReason(c.db, id)).toMatchObject({ status: 'stopped', stopReason: 'operator signal' });

    // A SIGKILLed owner cannot release its lease: on this host it is taken over at once.
    const third = child(['resume', id, '--db', c.db]);
    await until(() => (third.output().includes(`campaign ${id} (ledger`) ? true : undefined), 60_000, `the resume to start\n${third.output()}`);
    third.p.kill('SIGKILL');
    await third.exited;
    const fourth = child(['resume', id, '--db', c.db]);
    await until(() => (fourth.output().includes(`campaign ${id} (ledger`) ? true : undefined), 60_000, `the takeover\n${fourth.output()}`);
    fourth.p.kill('SIGTERM');
    expect(await fourth.exited, fourth.output()).toBe(0);
    expect(stopReason(c.db, id)).toMatchObject({ status: 'stopped', stopReason: 'operator signal' });
  });
});

describe('poreloop broker on a busy port (issue #14: it hung and ignored SIGTERM)', () => {
  it('exits 2 with "port N in use"', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      const b = child(['broker', '--port', String(port)]);
      // Before the fix the process printed its error and then never exited.
      const killer = setTimeout(() => b.p.kill('SIGKILL'), 60_000);
      const code = await b.exited;
      clearTimeout(killer);
      expect(code, b.output()).toBe(2);
      expect(b.output()).toContain(`--port: port ${port} in use on 127.0.0.1`);
    } finally {
      server.close();
    }
  }, 90_000);
});
