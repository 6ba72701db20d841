import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import YAML from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { generateTwinAsync } from '../twins/async.js';
import { loadCampaign, registries, resumeCampaign, runCampaign } from '../src/compose/campaign.js';
import { BadInputError } from '../src/core/errors.js';
import { exportCampaign, summariseCampaign } from '../src/ledger/export.js';
import { offThread } from '../src/compose/off-thread-agent.js';
import type { Agent, AgentContext, Parameters, Twin } from '../src/core/protocols.js';
import { createVoxels } from '../src/voxel/voxels.js';
import * as space from '../src/core/space.js';
import { Ledger } from '../src/ledger/ledger.js';
import { tmp } from './helpers.js';

/**
 * Library review (poreloop embedded in a lab's own program). Plugins a caller registers in `registries` must behave like built-in ones.
 * Proposals (off-thread-agent.ts) and large twin volumes (twins/async.ts) run on worker threads
 * that import their own copy of the registries: a custom agent there was unknown (the campaign
 * failed and could not resume), a custom twin was "unknown twin", and one registered under a
 * built-in name silently ran the built-in. Such plugins now run in the caller's thread.
 */
const saved = { agents: { ...registries.agents }, twins: { ...registries.twins } };
afterEach(() => {
  for (const [live, before] of [[registries.agents, saved.agents], [registries.twins, saved.twins]] as const) {
    for (const k of Object.keys(live)) if (!(k in before)) delete (live as Record<string, unknown>)[k];
    Object.assign(live, before);
  }
});

/** A caller's own agent: uniform proposals from ctx.rng, a snapshot that counts them, and the threads it proposed on. */
function countingAgent(threads: boolean[], fixed?: Parameters) {
  return (): Agent => {
    let proposals = 0;
    return {
      name: 'counting',
      async propose(ctx: AgentContext, k: number) {
        threads.push(isMainThread);
        proposals++;
        return Array.from({ length: k }, () => fixed ?? space.decode(ctx.space, Array.from({ length: space.dimension(ctx.space) }, () => ctx.rng.next())));
      },
      async learn() {},
      snapshot: () => ({ proposals }),
      restore: (s) => {
        proposals = (s as { proposals: number }).proposals;
      },
    };
  };
}

const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));
function campaignFile(agent = 'random', dir = tmp('poreloop-library-')): string {
  const path = join(dir, 'campaign.yaml');
  writeFileSync(path, YAML.stringify({
    ...demo,
    name: 'custom-plugin',
    twin: { ...demo.twin, size: [12, 12, 8] },
    space: { ...demo.space, porosity: { min: 0.6, max: 0.8 }, binderFraction: { min: 0.1, max: 0.3 } },
    predict: { ...demo.predict, physicsPerRound: 2 },
    agent: { name: agent, candidates: 2, batchSize: 1 },
    rigs: { ...demo.rigs, timeout: '20s', simulate: { ...demo.rigs.simulate, rigs: demo.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 5 })) } },
    budget: { rigRuns: 2 },
    stop: {},
  }));
  return path;
}

describe('a custom agent', () => {
  it('with snapshot/restore proposes in the caller’s thread, runs a campaign to completion, and resumes', { timeout: 120_000 }, async () => {
    const threads: boolean[] = [];
    registries.agents['my-agent'] = countingAgent(threads);
    const dir = tmp('poreloop-custom-agent-');
    const db = join(dir, 'ledger.db');
    const ctl = new AbortController();
    let id = '';
    const first = await runCampaign(loadCampaign(campaignFile('my-agent', dir)), { db, signal: ctl.signal, onStart: (c) => (id = c), onProgress: (p) => p.phase === 'assimilate' && p.round === 1 && ctl.abort() });
    expect(first.status).toBe('stopped');
    const resumed = await resumeCampaign(id, { db });
    expect(resumed.status).toBe('completed');
    expect(resumed.rigRuns).toBe(2);
    expect(threads.length).toBeGreaterThanOrEqual(2);
    expect(threads.every(Boolean)).toBe(true);
    // The resumed agent was restored from the first process's snapshot: its count goes on.
    const l = Ledger.open(db, { readonly: true });
    const states = l.documents(id, 'AgentProposed').map((d) => (d.body.snapshot as { proposals: number } | undefined)?.proposals).filter((n) => n !== undefined);
    l.close();
    expect(states.at(-1)).toBe(threads.length);
  });

  it('registered under a built-in name is the one that runs', () => {
    const threads: boolean[] = [];
    const mine = countingAgent(threads)();
    registries.agents.random = () => mine;
    // Not rebuilt from the worker's registry (which has the built-in random): proposed here.
    expect(offThread(mine, { name: 'random', options: {} }).agent).toBe(mine);
    // A sequence naming it likewise: the worker's sequence would look up its own random.
    expect(offThread(mine, { name: 'sequence', options: { steps: [{ agent: 'random', trials: 1 }, { agent: 'sobol' }] } }).agent).toBe(mine);
  });

  it('registered under a built-in name proposes the campaign’s trials', { timeout: 120_000 }, async () => {
    const fixed = { porosity: 0.75, binderFraction: 0.2, ptfeLoading: 15, compression: 0.1 };
    registries.agents.random = countingAgent([], fixed);
    const dir = tmp('poreloop-override-agent-');
    const db = join(dir, 'ledger.db');
    let id = '';
    const summary = await runCampaign(loadCampaign(campaignFile('random', dir)), { db, onStart: (c) => (id = c) });
    expect(summary.status).toBe('completed');
    const l = Ledger.open(db, { readonly: true });
    const trials = l.trials(id);
    l.close();
    expect(trials.length).toBeGreaterThan(0);
    for (const t of trials) expect(t.params).toMatchObject(fixed);
  });
});

describe('a custom twin', () => {
  /** Pore channels along z: porosity of the channels' share, whatever the seed. */
  const slab = (): Twin => ({
    name: 'slab',
    description: 'pore channels along z',
    parameters: [{ name: 'porosity', kind: 'continuous', min: 0.3, max: 0.8, default: 0.5 }],
    stages: [{ name: 'cast', description: 'cast', parameters: ['porosity'] }],
    phases: { 0: 'pore', 1: 'solid' },
    generate(params, o) {
      const v = createVoxels(o.size, o.voxelSize, { 0: 'pore', 1: 'solid' });
      const p = Number(params.porosity ?? 0.5);
      for (let i = 0; i < v.data.length; i++) v.data[i] = (i % 100) >= p * 100 ? 1 : 0;
      return { voxels: v, requested: { porosity: p }, achieved: { porosity: p }, stages: ['cast'] };
    },
  });
  const big = { seed: 1, size: [16, 16, 16] as [number, number, number], voxelSize: 1, workerAbove: 0 };

  it('at a size that takes the worker path is generated, in this thread', async () => {
    registries.twins.slab = slab;
    const out = await generateTwinAsync('slab', { porosity: 0.4 }, big);
    expect(out.thread).toBe('inline');
    expect(out.achieved).toEqual({ porosity: 0.4 });
  });

  it('registered under a built-in name is the one used', async () => {
    registries.twins['fibre-gdl'] = slab;
    const out = await generateTwinAsync('fibre-gdl', { porosity: 0.4 }, big);
    expect(out.thread).toBe('inline');
    expect(out.achieved).toEqual({ porosity: 0.4 });
  });
});

describe('the caller’s callbacks', () => {
  it('a throw in onProgress is reported once through log, and the campaign completes', { timeout: 120_000 }, async () => {
    const logs: string[] = [];
    let calls = 0;
    const summary = await runCampaign(loadCampaign(campaignFile()), {
      db: join(tmp('poreloop-callbacks-'), 'ledger.db'),
      log: (line) => logs.push(line),
      onProgress: () => {
        if (++calls >= 3) throw new Error('UI callback broke');
      },
    });
    expect(summary.status).toBe('completed');
    expect(summary.rigRuns).toBe(2);
    // Called on after it threw, reported once.
    expect(calls).toBeGreaterThan(3);
    expect(logs.filter((l) => l.includes('threw'))).toEqual([expect.stringMatching(/^the onProgress callback threw \(UI callback broke\); the campaign goes on/)]);
  });

  it('a throwing log is reported once as a process warning, and the campaign completes', { timeout: 120_000 }, async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const summary = await runCampaign(loadCampaign(campaignFile()), {
        db: join(tmp('poreloop-callbacks-'), 'ledger.db'),
        log: () => {
          throw new Error('log sink broke');
        },
      });
      expect(summary.status).toBe('completed');
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((w) => w.includes('log sink broke'))).toEqual([expect.stringMatching(/^the log callback threw/)]);
  });
});

describe('misuse', () => {
  it('runCampaign and resumeCampaign without a db are bad input that says what is needed', async () => {
    const resolved = loadCampaign(campaignFile());
    await expect(runCampaign(resolved, {} as never)).rejects.toThrow(BadInputError);
    await expect(runCampaign(resolved, undefined as never)).rejects.toThrow(/options.db: runCampaign needs options with 'db': the path of the SQLite ledger file/);
    await expect(resumeCampaign('x', { db: 42 } as never)).rejects.toThrow(/resumeCampaign needs options with 'db'/);
    await expect(runCampaign(resolved, { db: 'x.db', onProgress: 'yes' } as never)).rejects.toThrow(/options.onProgress: must be a function/);
  });

  it('exportCampaign and summariseCampaign of an unknown campaign id are bad input naming the ledger', () => {
    const db = join(tmp('poreloop-export-'), 'ledger.db');
    const l = Ledger.open(db);
    try {
      for (const f of [exportCampaign, summariseCampaign]) {
        expect(() => f(l, 'nope')).toThrow(BadInputError);
        expect(() => f(l, 'nope')).toThrow(`campaignId: no campaign "nope" in ${db} (it has none)`);
      }
    } finally {
      l.close();
    }
  });
});

describe('installed in a host project', () => {
  it('`poreloop --version` prints poreloop’s version, not the host project’s', () => {
    // The layout of an install: the host's package.json, yargs hoisted into the host's
    // node_modules, poreloop beside it without a node_modules of its own. Links to this
    // checkout, kept as they are (--preserve-symlinks), so yargs sees itself in the host.
    const root = fileURLToPath(new URL('../', import.meta.url));
    const host = tmp('poreloop-host-');
    writeFileSync(join(host, 'package.json'), JSON.stringify({ name: 'lab-app', version: '9.9.9', type: 'module' }));
    mkdirSync(join(host, 'node_modules', 'poreloop'), { recursive: true });
    for (const e of readdirSync(join(root, 'node_modules'))) symlinkSync(join(root, 'node_modules', e), join(host, 'node_modules', e));
    for (const e of ['package.json', 'src', 'agents', 'twins', 'robots']) symlinkSync(join(root, e), join(host, 'node_modules', 'poreloop', e));
    writeFileSync(join(host, 'version.mjs'), "const { main } = await import('./node_modules/poreloop/src/cli/main.ts');\nprocess.exitCode = await main(['--version']);\n");
    const out = execFileSync(process.execPath, ['--preserve-symlinks', '--import', 'tsx', 'version.mjs'], { cwd: host, encoding: 'utf8' });
    expect(out.trim()).toBe(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  });
});
