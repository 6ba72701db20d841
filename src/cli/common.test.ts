import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliNodeArgs } from '../../tests/cli-child.js';
import { captureOutput } from '../../tests/helpers.js';
import { BadInputError } from '../core/errors.js';
import { commandHandler, parseCubeSize } from './common.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('parseCubeSize (--size of reconstruct sam|gan generate)', () => {
  it('takes n as a cube and nx,ny,nz (or nxXnyXnz) as given', () => {
    expect(parseCubeSize('64')).toEqual([64, 64, 64]);
    expect(parseCubeSize(32)).toEqual([32, 32, 32]);
    expect(parseCubeSize('20,12,9')).toEqual([20, 12, 9]);
    expect(parseCubeSize('20x12×9')).toEqual([20, 12, 9]);
  });

  it('refuses anything else, naming the flag and what is allowed', () => {
    for (const bad of ['0', '1.5', '20,12', '20,12,9,4', 'abc', '-3']) {
      expect(() => parseCubeSize(bad)).toThrow(BadInputError);
      expect(() => parseCubeSize(bad)).toThrow(/expected n or nx,ny,nz/);
    }
  });
});

describe('commandHandler (every command\'s yargs handler)', () => {
  const io = captureOutput();
  /** Runs a handler with `body` and returns the exit code it reported. */
  async function exitOf(json: boolean, body: Parameters<typeof commandHandler>[1]): Promise<number[]> {
    const codes: number[] = [];
    await commandHandler({ exit: (c) => codes.push(c) }, body)({ db: 'x.db', json });
    return codes;
  }

  it("reports 0, or the body's own code, once; the body writes through an Output of --json", async () => {
    expect(
      await exitOf(false, async (_args, out) => {
        out.info('done');
      }),
    ).toEqual([0]);
    expect(io.stdout).toBe('done\n');
    expect(
      await exitOf(true, async (args, out) => {
        out.info(args.db);
        out.result({ ok: false });
        return 1;
      }),
    ).toEqual([1]);
    expect(io.stderr).toBe('x.db\n');
    expect(JSON.parse(io.stdout.slice('done\n'.length))).toEqual({ ok: false });
  });

  it('turns bad input into exit 2 and a runtime failure into exit 1, with the --json error document', async () => {
    expect(
      await exitOf(true, async () => {
        throw new BadInputError('no such thing', '--flag');
      }),
    ).toEqual([2]);
    expect(JSON.parse(io.stdout)).toMatchObject({ kind: 'bad-input' });
    expect(io.stderr).toMatch(/^poreloop: error: .*no such thing/);
    io.stdout = '';
    expect(
      await exitOf(true, async () => {
        throw new Error('it broke');
      }),
    ).toEqual([1]);
    expect(JSON.parse(io.stdout)).toEqual({ error: 'it broke', kind: 'runtime' });
    expect(io.stderr).toMatch(/poreloop: failed: it broke\n$/);
  });
});

describe('a reader that closes the pipe early (config review, item 5: `poreloop twin list | head -3`)', () => {
  /** Runs the CLI in a child whose `closed` stream's reader is gone before the child writes. */
  async function withClosed(closed: 'stdout' | 'stderr', args: string[]): Promise<{ code: number | null; signal: string | null; other: string }> {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed at once: the child has not started its JavaScript yet, so every write it makes meets EPIPE.
    child[closed].destroy();
    let other = '';
    child[closed === 'stdout' ? 'stderr' : 'stdout'].on('data', (d) => (other += d));
    return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, other })));
  }

  it('exits 0 without a word on stderr (no unhandled EPIPE and its stack, exit 1)', async () => {
    expect(await withClosed('stdout', ['twin', 'list'])).toEqual({ code: 0, signal: null, other: '' });
  });

  it('keeps the command\'s own exit code and the other stream: stderr gone, --json still on stdout; a bad --db still exits 2', async () => {
    const r = await withClosed('stderr', ['twin', 'list', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.other)).toBeTruthy();
    expect((await withClosed('stdout', ['status', '--db', join(ROOT, 'no-such-dir', 'x.db')])).code).toBe(2);
  });
});
