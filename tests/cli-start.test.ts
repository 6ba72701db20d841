import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger/ledger.js';
import { cliNodeArgs } from './cli-child.js';
import { tmp } from './helpers.js';

/**
 * The CLI starts without the machinery its commands run (experiments/results/cli-start.md):
 * `--version`, `--help`, a command's help and a usage error load no mathjs (≈ 1.5 s),
 * TensorFlow.js, MQTT/aedes, ledger or physics; `status`, and `resume` of a campaign the ledger
 * does not hold, load the ledger but none of the heavy packages nor the composition root;
 * `twin calibrate --help` loads the twins and agents its options name, not the composition root.
 * Which modules a child process loaded is read from a module hook (fixtures/record-modules.mjs),
 * not timed, so the test does not depend on the machine's speed.
 */
const DIR = fileURLToPath(new URL('../', import.meta.url));
const ROOT = pathToFileURL(DIR).href;
const RECORDER = fileURLToPath(new URL('./fixtures/record-modules.mjs', import.meta.url));

/** The slowest packages to load, and the MQTT stack. */
const HEAVY_PACKAGES = /(^|\/)node_modules\/(mathjs|@tensorflow\/[^/]+|aedes[^/]*|mqtt[^/]*)\//;
/** Our layers that do the work (and load those packages), relative to the repository (dist/ when built). */
const WORK_LAYERS = /^(dist\/)?(src\/(physics|compose|ledger|reconstruct|reward|surrogate|predict|orchestrator|exec|serve|report|config)|agents|twins|robots)\//;
/** The composition root (src/compose/campaign.ts) and the campaign machinery it loads: the rigs, the orchestrator, the predictor. */
const CAMPAIGN_MACHINERY = /^(dist\/)?(robots\/|src\/(orchestrator|predict)\/|src\/compose\/campaign\.(js|ts)$)/;
/** The agents, the twins and the surrogates: no command that only reads a ledger needs them. */
const PLUGINS = /^(dist\/)?(agents|twins|src\/surrogate)\//;

async function modulesOf(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const file = join(tmp('poreloop-start-'), 'modules.txt');
  // From the repository, where `--import tsx` resolves (sources newer than dist).
  const child = spawn(process.execPath, [...cliNodeArgs([RECORDER]), ...args], {
    cwd: DIR,
    env: { ...process.env, PORELOOP_RECORD_MODULES: file },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
  const modules = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  return { code, stdout, stderr, modules: modules.map((m) => (m.startsWith(ROOT) ? m.slice(ROOT.length) : m)) };
}

describe('CLI start-up loads only what the command needs', () => {
  it.each([
    [['--version'], 0],
    [['--help'], 0],
    [['status', '--help'], 0],
    [['status', '--no-such-flag'], 2],
  ])('poreloop %j: no heavy package, none of the working layers', async (args, exit) => {
    const r = await modulesOf(args);
    expect(r.code, r.stderr).toBe(exit);
    // The hook saw the process: the CLI's own modules and yargs are there.
    expect(r.modules.some((m) => /src\/cli\/main\.(js|ts)$/.test(m))).toBe(true);
    expect(r.modules.some((m) => /(^|\/)node_modules\/yargs\//.test(m))).toBe(true);
    expect(r.modules.filter((m) => HEAVY_PACKAGES.test(m) || WORK_LAYERS.test(m))).toEqual([]);
  });

  it('poreloop rig schema: the protocol\'s schemas, but no broker and no MQTT client', async () => {
    const r = await modulesOf(['rig', 'schema', 'status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveProperty('properties');
    expect(r.modules.some((m) => /robots\/protocol\/validate\.(js|ts)$/.test(m))).toBe(true);
    expect(r.modules.filter((m) => HEAVY_PACKAGES.test(m) || /robots\/(broker|transport|sim)\b/.test(m))).toEqual([]);
  });

  it('poreloop status on an empty ledger: the ledger, but no heavy package', async () => {
    const db = join(tmp('poreloop-start-'), 'empty.db');
    Ledger.open(db).close();
    const r = await modulesOf(['status', '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('no campaigns in');
    expect(r.modules.some((m) => /src\/ledger\/ledger\.(js|ts)$/.test(m))).toBe(true);
    // The physics' property table is there: the summary of a campaign prints its units.
    expect(r.modules.filter((m) => HEAVY_PACKAGES.test(m) || PLUGINS.test(m) || CAMPAIGN_MACHINERY.test(m))).toEqual([]);
  });

  it('poreloop resume of a campaign the ledger does not hold: exit 2 before the composition root loads', async () => {
    const db = join(tmp('poreloop-start-'), 'empty.db');
    Ledger.open(db).close();
    const r = await modulesOf(['resume', 'nope', '--db', db]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`no campaign "nope" in ${db}`);
    expect(r.modules.some((m) => /src\/ledger\/ledger\.(js|ts)$/.test(m))).toBe(true);
    expect(r.modules.filter((m) => HEAVY_PACKAGES.test(m) || PLUGINS.test(m) || CAMPAIGN_MACHINERY.test(m))).toEqual([]);
  });

  it('poreloop resume of a finished campaign: its summary, before the composition root loads', async () => {
    const db = join(tmp('poreloop-start-'), 'done.db');
    const l = Ledger.open(db);
    l.append('done-1', 'CampaignStarted', { name: 'gate', config: { space: { x: { min: 0, max: 1 } } }, configHash: 'h', seed: 1, source: 'x.yaml', versions: {} }, 'start');
    l.append('done-1', 'CampaignStopped', { status: 'completed', reason: 'rig-run budget spent' });
    l.close();
    const r = await modulesOf(['resume', 'done', '--db', db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('campaign done-1 (gate): completed — rig-run budget spent');
    expect(r.modules.filter((m) => HEAVY_PACKAGES.test(m) || PLUGINS.test(m) || CAMPAIGN_MACHINERY.test(m))).toEqual([]);
  });

  it('poreloop twin calibrate --help: the twins and agents its options name, not the composition root', async () => {
    const r = await modulesOf(['twin', 'calibrate', '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sofc-anode');
    expect(r.stdout).toContain('gp-bo');
    expect(r.modules.some((m) => /src\/compose\/registries\.(js|ts)$/.test(m))).toBe(true);
    // The agents bring TensorFlow.js (their surrogates' backend); mathjs, MQTT and the campaign machinery stay out.
    expect(r.modules.filter((m) => (HEAVY_PACKAGES.test(m) && !/node_modules\/@tensorflow\/tfjs\//.test(m)) || CAMPAIGN_MACHINERY.test(m))).toEqual([]);
  });
});
