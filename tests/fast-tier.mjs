// `npm test` after the build: the type check runs beside the fast tier's vitest run, not before
// it. vitest's two workers leave the cores idle while tests wait on child processes, brokers and
// worker threads, and the type check (≈ 30 s of one core) fills those gaps: the definition of
// done asks for npm test within 3 minutes on a fresh clone of a 2-core machine. The type
// check's output is held back and printed after vitest's, so the two never interleave; either
// failing fails npm test (vitest's exit code first, then the type check's).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const run = (command, args, capture, shell = false) =>
  new Promise((resolve) => {
    const p = spawn(command, args, { stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit', shell });
    let output = '';
    if (capture) {
      p.stdout.on('data', (d) => (output += d));
      p.stderr.on('data', (d) => (output += d));
    }
    p.on('error', (e) => resolve({ code: 1, output: `${output}${e.message}\n` }));
    p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });

// The type check is the package's own script (one definition of its flags); npm.cmd needs a
// shell on Windows (Node ≥ 20.12.2 refuses to spawn .cmd files without one). vitest is this
// project's installed one, started directly: no npm start-up, never a download.
const typecheck = run('npm', ['run', '--silent', 'typecheck'], true, process.platform === 'win32');
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
const tests = await run(process.execPath, [vitest, 'run', ...process.argv.slice(2)], false);
const types = await typecheck;
if (types.code !== 0) process.stderr.write(`\n${types.output}\nporeloop: the type check (npm run typecheck) failed\n`);
else process.stdout.write('type check (npm run typecheck): no errors\n');
process.exitCode = tests.code !== 0 ? tests.code : types.code;
