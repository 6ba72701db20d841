/**
 * Services the README does not start (issue #15). A user's `npm test` needs only npm: tests
 * that need a real Mosquitto skip, with a one-line reason, when none can be had. CI sets
 * PORELOOP_REQUIRE_SERVICES=1 (`.ci/run`), and then they never skip: they run and fail on the
 * missing service.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import mqtt from 'mqtt';

export const SERVICES_REQUIRED = process.env.PORELOOP_REQUIRE_SERVICES === '1';

/** The shared test broker (CI starts a Mosquitto and sets this). */
export const MOSQUITTO_URL = process.env.PORELOOP_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

/**
 * Path of the `mosquitto` executable, if installed (Debian puts it in /usr/sbin, often not on
 * PATH). PORELOOP_MOSQUITTO_BIN names another one, or `none` to act as if it were absent.
 */
export function mosquittoBinary(): string | undefined {
  const env = process.env.PORELOOP_MOSQUITTO_BIN;
  if (env) return env === 'none' || !existsSync(env) ? undefined : env;
  const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto'], { encoding: 'utf8' });
  return which.stdout.trim().split('\n')[0] || undefined;
}

let probe = 0;
/** Whether an MQTT broker answers a CONNECT at `url` (a refused port answers at once). */
export async function brokerReachable(url: string, timeoutMs = 2000): Promise<boolean> {
  try {
    const c = await mqtt.connectAsync(url, { clientId: `poreloop-probe-${process.pid}-${probe++}`, connectTimeout: timeoutMs, reconnectPeriod: 0 }, false);
    await c.endAsync();
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a test cannot have a real Mosquitto, or undefined when it can.
 * - 'broker': a broker at $PORELOOP_TEST_MQTT_URL, or the binary to start a private one
 *   (what `startTestBroker('mosquitto')` does);
 * - 'binary': the binary itself (tests that start their own, with auth, ACL or persistence).
 */
export async function mosquittoMissing(need: 'broker' | 'binary'): Promise<string | undefined> {
  if (mosquittoBinary()) return undefined;
  if (need === 'broker' && (await brokerReachable(MOSQUITTO_URL))) return undefined;
  return need === 'broker'
    ? `no Mosquitto: nothing answers at ${MOSQUITTO_URL} (PORELOOP_TEST_MQTT_URL) and the mosquitto binary is not installed`
    : 'the mosquitto binary is not installed (apt-get install -y mosquitto)';
}

/**
 * Whether a suite that needs the missing service should skip (prints the one-line reason).
 * Under PORELOOP_REQUIRE_SERVICES=1 it never skips: the suite runs and fails.
 */
export function skipWithout(missing: string | undefined, suite: string): boolean {
  if (!missing) return false;
  if (SERVICES_REQUIRED) {
    process.stderr.write(`${suite}: ${missing}; PORELOOP_REQUIRE_SERVICES=1, so its tests run and fail\n`);
    return false;
  }
  process.stderr.write(`skipped ${suite}: ${missing} (PORELOOP_REQUIRE_SERVICES=1 makes this a failure)\n`);
  return true;
}
