/**
 * A private Mosquitto for one `describe` block (for test files only: it registers vitest hooks,
 * so benchmarks keep using `startMosquitto` from ./brokers.ts). Started before the block's
 * first test, closed after its last; read `broker.url` inside tests.
 */
import { afterAll, beforeAll } from 'vitest';
import { startMosquitto, type MosquittoOptions, type MosquittoProcess } from './brokers.js';

export function useMosquitto(options: MosquittoOptions = {}): { readonly url: string; readonly process: MosquittoProcess } {
  let m: MosquittoProcess | undefined;
  beforeAll(async () => {
    m = await startMosquitto(options);
  });
  afterAll(async () => {
    await m?.close();
  });
  const started = () => {
    if (!m) throw new Error('useMosquitto: the broker is not started yet (read it inside a test or hook)');
    return m;
  };
  return {
    get url() {
      return started().url;
    },
    get process() {
      return started();
    },
  };
}
