import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { Ledger } from '../src/ledger/ledger.js';

export const tmp = (prefix = 'poreloop-') => mkdtempSync(join(tmpdir(), prefix));

/** Waits for a condition on events (a ledger's documents), polling every 25 ms. */
export async function until(what: string, ok: () => boolean, backstopMs = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    // A backstop for a loaded machine, not a speed requirement: the condition is an event.
    if (Date.now() - t0 > backstopMs) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The (read-only) ledger a campaign process is creating at `db`, and its campaign's id, once it exists. */
export async function campaignIn(db: string): Promise<{ ledger: Ledger; id: string }> {
  let ledger: Ledger | undefined;
  await until('the ledger', () => {
    try {
      ledger ??= Ledger.open(db, { readonly: true });
      return ledger.campaigns().length === 1;
    } catch {
      return false;
    }
  });
  return { ledger: ledger!, id: ledger!.campaigns()[0].id };
}

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
