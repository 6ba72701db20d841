import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../src/cli/main.js';

export const tmp = (prefix = 'poreloop-') => mkdtempSync(join(tmpdir(), prefix));

/** Runs the CLI in-process and captures what it writes. */
export async function cli(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((stdout += String(c)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((stderr += String(c)), true));
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

/**
 * A real Mosquitto for tests: the shared one at PORELOOP_TEST_MQTT_URL or a private one; suites
 * that need it skip without it unless PORELOOP_REQUIRE_SERVICES=1 (robots/testing/services.ts).
 */
export { startTestBroker } from '../robots/testing/brokers.js';
export { mosquittoMissing, skipWithout } from '../robots/testing/services.js';

/**
 * For CLI unit tests that call main() directly: captures stdout/stderr around every test of
 * the file (install at the top level of a test file; read `io.stdout` / `io.stderr`).
 */
export function captureOutput(): { stdout: string; stderr: string } {
  const io = { stdout: '', stderr: '' };
  beforeEach(() => {
    io.stdout = '';
    io.stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((io.stdout += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((io.stderr += String(s)), true));
  });
  afterEach(() => vi.restoreAllMocks());
  return io;
}
