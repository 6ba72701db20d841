import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmp } from '../../../tests/helpers.js';
import { finishedCampaign } from '../../../tests/ledgers.js';

describe('poreloop report --out', () => {
  it('an existing file is bad input naming --out, and is left as it was (dashboard review, 2026-12-07: raw "failed: EEXIST", exit 1)', async () => {
    const dir = tmp('poreloop-report-cli-');
    const db = join(dir, 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    const r = await cli(['report', 'c1', '--db', db, '--out', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`poreloop: error: --out: ${file} is an existing file; --out names a folder (made when missing) for index.html and the plots`);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('a path under an existing file is bad input naming --out, not a raw ENOTDIR exit 1 (review of 0e10d79)', async () => {
    const dir = tmp('poreloop-report-cli-');
    const db = join(dir, 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    const file = join(dir, 'notes.txt');
    writeFileSync(file, 'keep me');
    const r = await cli(['report', 'c1', '--db', db, '--out', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`poreloop: error: --out: ${join(file, 'sub')} lies under an existing file, not a folder; --out names a folder (made when missing) for index.html and the plots`);
    expect(readFileSync(file, 'utf8')).toBe('keep me');
  });

  it('a file in the folder that cannot be written is named, not the folder (review of the --out mapping)', async () => {
    const dir = tmp('poreloop-report-cli-');
    const db = join(dir, 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    const out = join(dir, 'report');
    mkdirSync(join(out, 'index.html'), { recursive: true }); // a folder where the page goes
    const r = await cli(['report', 'c1', '--db', db, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`poreloop: error: --out: ${join(out, 'index.html')} is an existing folder; --out names a folder (made when missing) for index.html and the plots`);
  });

  // root writes a read-only file regardless: the permission case runs for other users only.
  it.skipIf(process.getuid?.() === 0)('a read-only index.html left from before is named as not writable, not its folder', async () => {
    const dir = tmp('poreloop-report-cli-');
    const db = join(dir, 'l.db');
    finishedCampaign([1, 2], {}, 'c1', db).close();
    const out = join(dir, 'report');
    mkdirSync(out);
    writeFileSync(join(out, 'index.html'), 'old');
    chmodSync(join(out, 'index.html'), 0o444);
    const r = await cli(['report', 'c1', '--db', db, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`poreloop: error: --out: ${join(out, 'index.html')} is not writable here (EACCES)`);
  });
});
