import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vi } from 'vitest';
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

/** MQTT broker for tests that need a real one (CI starts Mosquitto and sets this). */
export const MOSQUITTO_URL = process.env.PORELOOP_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
