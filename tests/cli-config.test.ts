import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from './helpers.js';

/** Issue #2: bad configs exit with code 2 and a message naming the problem; nothing starts. */
const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));

function write(doc: unknown, text?: string): { path: string; db: string } {
  const dir = tmp('poreloop-badcfg-');
  const path = join(dir, 'c.yaml');
  writeFileSync(path, text ?? YAML.stringify(doc));
  return { path, db: join(dir, 'l.db') };
}

describe('poreloop run with bad input', () => {
  it.each([
    ['missing file', null, 'name: x', /config file not found/],
    ['YAML syntax error', null, 'name: x\nspace: { a: 1\n  b: [\n', /YAML syntax error at line \d+, column \d+/],
    ['wrong type', { ...demo, agent: { ...demo.agent, batchSize: 'four' } }, undefined, /agent\.batchSize: expected integer in \[1, 1000\], got "four"/],
    ['unknown twin', { ...demo, twin: { ...demo.twin, name: 'woven-cloth' } }, undefined, /twin\.name: unknown twin "woven-cloth"; known twins: .*fibre-gdl/],
    ['unknown agent', { ...demo, agent: { name: 'annealer' } }, undefined, /agent\.name: unknown agent "annealer"; known agents: .*gp-bo/],
    ['malicious reward (import)', { ...demo, reward: 'import({x: 1})' }, undefined, /reward: .*not allowed/],
    ['malicious reward (assignment)', { ...demo, reward: 'limitingCurrent = 1e9' }, undefined, /reward: assignment is not allowed/],
    ['malicious reward (property access)', { ...demo, reward: 'tau_z.constructor' }, undefined, /reward: property or index access is not allowed/],
    ['volume too large for this machine', { ...demo, twin: { ...demo.twin, size: [1024, 1024, 1024] } }, undefined, /twin\.size: a 1024×1024×1024 volume needs about \d+\.\d GiB/],
    ['bad agent option', { ...demo, agent: { name: 'gp-bo', options: { bogus: 1 } } }, undefined, /agent\.gp-bo: unknown option 'bogus'/],
  ])('%s → exit 2 with a clear message', async (_name, doc, text, msg) => {
    const { path, db } = write(doc, text ?? undefined);
    const target = _name === 'missing file' ? path + '.nope' : path;
    const r = await cli(['run', target, '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
  });

  it('--json still prints exactly one JSON document on bad input', async () => {
    const { path, db } = write({ ...demo, budget: { rigRuns: -1 } });
    const r = await cli(['run', path, '--db', db, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ kind: 'bad-input' });
    expect(JSON.parse(r.stdout).error).toMatch(/budget\.rigRuns/);
  });

  it('unknown commands and flags exit 2', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['status', '--no-such-flag'])).code).toBe(2);
  });

  it('status/export of a missing ledger or campaign exit 2', async () => {
    const dir = tmp();
    expect((await cli(['status', '--db', join(dir, 'none.db')])).code).toBe(2);
    const { path, db } = write({ ...demo });
    void path;
    expect((await cli(['export', 'nope', '--db', db])).stderr).toMatch(/no ledger|no campaign/);
  });
});
