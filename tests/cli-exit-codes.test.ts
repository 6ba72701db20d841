import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadCampaign } from '../src/compose/campaign.js';
import { Ledger } from '../src/ledger/ledger.js';
import { cli, tmp } from './helpers.js';

/**
 * Issue #14, bad input: every one of these exited 0 or 1 (or ran the command anyway) before
 * the fix; all bad input must exit 2 with a message that names the problem.
 */

/** A small twin-less campaign (analytic simulated rig) in a folder of its own. */
function campaignDir(patch: Record<string, unknown> = {}, files: Record<string, string> = {}) {
  const dir = tmp('poreloop-exit-');
  const conf = join(dir, 'conf');
  mkdirSync(conf);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const doc = {
    name: 'exit-codes',
    seed: 1,
    space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 } },
    reward: 'score',
    agent: { name: 'random', candidates: 4, batchSize: 2 },
    rigs: { pipeline: ['characterise'], measure: ['score'], simulate: { rigs: [{ id: 'char-1', capabilities: ['characterise'], latencyMs: 20 }] } },
    budget: { rigRuns: 2 },
    broker: 'embedded',
    ...patch,
  };
  const path = join(conf, 'campaign.yaml');
  writeFileSync(path, YAML.stringify(doc));
  return { dir, path, db: join(dir, 'ledger.db') };
}

describe('usage errors stop the command and exit 2', () => {
  it('an unknown flag: exit 2, nothing runs', async () => {
    const r = await cli(['status', '--no-such-flag', '--db', join(tmp(), 'none.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Unknown argument/);
    expect(r.stderr).not.toMatch(/no ledger/); // the handler did not run
  });

  it('export --format xml: exit 2 and no CSV written', async () => {
    // A ledger with a campaign, so that a handler that ran anyway would have written its CSV.
    const db = join(tmp(), 'l.db');
    const l = Ledger.open(db);
    l.append('c1', 'CampaignStarted', { name: 'c1', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    l.close();
    const r = await cli(['export', 'c1', '--format', 'xml', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/format.*xml/s);
    expect(r.stdout).toBe('');
  });

  it('an operator command on a --db that does not exist: exit 2 naming --db, and no ledger file left behind', async () => {
    // pause/stop/approve/reject/resume open the ledger writable; they created an empty ledger at a
    // mistyped path and answered "no campaign" (found 2026-12-07).
    for (const command of ['pause', 'stop', 'approve', 'reject', 'pick', 'resume']) {
      const db = join(tmp(), 'typo.db');
      const args = command === 'pick' ? [command, 'c1', 't1', '--db', db] : [command, 'c1', '--db', db];
      const r = await cli(args);
      expect(r.code, command).toBe(2);
      expect(r.stderr, command).toMatch(/--db: no ledger at .*typo\.db/);
      expect(existsSync(db), command).toBe(false);
    }
  });

  it('a ledger or export file in a folder that does not exist: exit 2 naming the path, nothing created (review of the CLI, 2026-12-07)', async () => {
    // Both exited 1, as runtime failures: "cannot open ledger …" and a raw ENOENT.
    const c = campaignDir();
    const db = join(c.dir, 'missing', 'x.db');
    const r = await cli(['run', c.path, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot create ledger .*missing\/x\.db: the folder .*missing does not exist; create it, or name another file with --db/);
    expect(existsSync(join(c.dir, 'missing'))).toBe(false);

    const ledger = join(tmp(), 'l.db');
    const l = Ledger.open(ledger);
    l.append('c1', 'CampaignStarted', { name: 'c1', config: {}, configHash: 'h', seed: 1, source: 'x', versions: {} }, 'start');
    l.close();
    const out = join(c.dir, 'nowhere', 'x.csv');
    const e = await cli(['export', 'c1', '--format', 'csv', '--db', ledger, '--out', out]);
    expect(e.code).toBe(2);
    expect(e.stderr).toMatch(/--out: cannot write .*nowhere\/x\.csv: no such file or directory/);
  });

  it('twin generate without --out and analyse without a file: exit 2 naming what is missing', async () => {
    const t = await cli(['twin', 'generate', 'fibre-gdl']);
    expect(t.code).toBe(2);
    expect(t.stderr).toMatch(/Missing required argument: out/);
    const a = await cli(['analyse']);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/not enough non-option arguments/i);
  });
});

describe('bad campaign files exit 2 before anything starts', () => {
  it('a YAML alias bomb', async () => {
    const dir = tmp();
    const path = join(dir, 'bomb.yaml');
    const lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (const [i, n] of ['b', 'c', 'd', 'e', 'f'].entries()) lines.push(`${n}: &${n} [${Array(9).fill(`*${'abcdef'[i]}`).join(',')}]`);
    writeFileSync(path, lines.join('\n') + '\nname: bomb\n');
    const r = await cli(['run', path, '--db', join(dir, 'l.db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/alias/);
  });

  it('a constraint no point within the bounds can meet', async () => {
    const c = campaignDir({ space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 }, constraints: ['a + b >= 3'] } });
    const r = await cli(['run', c.path, '--db', c.db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/space\.constraints\.0: constraint "a \+ b >= 3" cannot hold .*\[0, 2\]/);
  });

  it('constraints that can each hold but not together', async () => {
    const c = campaignDir({ space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 }, constraints: ['a + b >= 1.5', 'a + b <= 1'] } });
    const r = await cli(['run', c.path, '--db', c.db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/space\.constraints: no point within the parameter bounds meets all the constraints together/);
    // Jointly satisfiable ones load (a mixture on the simplex with a cap).
    const ok = campaignDir({ space: { a: { min: 0, max: 1 }, b: { min: 0, max: 1 }, c: { min: 0, max: 1 }, constraints: ['a + b + c == 1', 'a <= 0.2'] } });
    expect(loadCampaign(ok.path).space.constraints).toHaveLength(2);
  });

  it('space.pool outside the config folder is refused; on the command line it is the user\'s choice', async () => {
    const c = campaignDir({ space: { pool: '../secret.csv' } }, { 'secret.csv': 'a,b\n0.1,0.2\n0.3,0.4\n' });
    const r = await cli(['run', c.path, '--db', c.db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/space\.pool: "\.\.\/secret\.csv" lies outside the config's folder/);
    const resolved = loadCampaign(c.path, { set: [`space.pool=${join(c.dir, 'secret.csv')}`] });
    expect(resolved.space.pool).toHaveLength(2);
  });

  it('a pool that is not a regular file (/dev/zero) is refused before reading', async () => {
    const c = campaignDir({ space: { pool: 'pool.csv' } });
    const r = await cli(['run', c.path, '--db', c.db, '--set', 'space.pool=/dev/zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/space\.pool: \/dev\/zero is not a regular file/);
  });

  it('artifacts on /proc are refused (Node\'s recursive mkdir spins forever there)', async () => {
    const fromFile = campaignDir({ artifacts: '/proc/self' });
    const r1 = await cli(['run', fromFile.path, '--db', fromFile.db]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/artifacts: .*outside the config's folder/);
    const c = campaignDir();
    const r2 = await cli(['run', c.path, '--db', c.db, '--set', 'artifacts=/proc/self']);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/artifacts: \/proc\/\d+ is on a kernel pseudo-filesystem/);
  });
});
