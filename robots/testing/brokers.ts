/**
 * Brokers for the rig-protocol tests: the embedded aedes broker, and a real Mosquitto — the
 * shared one at $PORELOOP_TEST_MQTT_URL (default mqtt://127.0.0.1:1883), or, for tests that need
 * auth/ACL, a private `mosquitto` process with a generated config on a free port.
 * Tests use unique lab names and client ids so they can share one Mosquitto concurrently.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '../broker.js';
import { brokerReachable, mosquittoBinary, MOSQUITTO_URL } from './services.js';

export type BrokerKind = 'aedes' | 'mosquitto';

export interface TestBroker {
  kind: BrokerKind;
  url: string;
  close(): Promise<void>;
}

let counter = 0;
/** A name unique to this process and call, valid as a lab/rig id and MQTT client id. */
export function uniq(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startTestBroker(kind: BrokerKind): Promise<TestBroker> {
  if (kind === 'aedes') {
    const b = await startEmbeddedBroker({ port: 0 });
    return { kind, url: b.url, close: () => b.close() };
  }
  const url = MOSQUITTO_URL;
  if (await brokerReachable(url)) return { kind, url, close: async () => undefined };
  // No shared broker here: run a private one (suites that need one check mosquittoMissing('broker') first).
  const m = await startMosquitto({});
  return { kind, url: m.url, close: () => m.close() };
}

export interface MosquittoOptions {
  /** username → password; enables `allow_anonymous false` + a password file. */
  users?: Record<string, string>;
  /** ACL file contents (Mosquitto acl_file syntax). */
  acl?: string;
  /** Further mosquitto.conf lines (e.g. `set_tcp_nodelay true`). */
  extra?: string[];
}

export interface MosquittoProcess {
  url: string;
  port: number;
  /** The broker's process id (benchmarks read its CPU time). */
  pid: number | undefined;
  dir: string;
  close(): Promise<void>;
}

/** Starts `mosquitto -c <generated config>` on a free port and waits until it accepts connections. */
export async function startMosquitto(options: MosquittoOptions): Promise<MosquittoProcess> {
  const bin = mosquittoBinary();
  if (!bin) throw new Error('the mosquitto binary is not installed (apt-get install -y mosquitto); the rig-protocol tests need it');
  const dir = mkdtempSync(join(tmpdir(), 'poreloop-mosquitto-'));
  const port = await freePort();
  const lines = [`listener ${port} 127.0.0.1`, 'persistence false', 'log_dest stderr', 'log_type error'];
  // Mosquitto drops privileges to user "mosquitto" when started as root; keep root so it can
  // read the generated files (STACK.md).
  if (process.getuid?.() === 0) lines.push('user root');
  if (options.users) {
    const pw = join(dir, 'passwd');
    writeFileSync(pw, '');
    for (const [u, p] of Object.entries(options.users)) {
      const r = spawnSync('mosquitto_passwd', ['-b', pw, u, p], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mosquitto_passwd failed: ${r.stderr || r.error?.message}`);
    }
    lines.push('allow_anonymous false', `password_file ${pw}`);
  } else lines.push('allow_anonymous true');
  if (options.acl !== undefined) {
    const acl = join(dir, 'acl');
    writeFileSync(acl, options.acl);
    lines.push(`acl_file ${acl}`);
  }
  lines.push(...(options.extra ?? []));
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const url = `mqtt://127.0.0.1:${port}`;
  const until = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${stderr}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (open) break;
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on ${port}: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    port,
    pid: child.pid,
    dir,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls until `cond()` holds (tests wait for asynchronous MQTT effects, never sleep blindly).
 * The limit is a backstop against a hang, generous so that a loaded machine does not fail a
 * test that would pass (issue #15); a passing test never waits for it.
 */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Leaves a shared broker as it was: clears the retained status of the test's rigs and ends the
 * persistent sessions of its clients (a clean connect discards a session, MQTT 3.1.1 §3.1.2.4).
 */
export async function cleanupLab(url: string, lab: string, rigIds: string[], clientIds: string[] = [], auth: { username?: string; password?: string } = {}): Promise<void> {
  const c = await mqtt.connectAsync(url, { clientId: uniq('cleanup'), reconnectPeriod: 0, ...auth }, false);
  for (const id of rigIds) await c.publishAsync(`poreloop/v1/${lab}/rigs/${id}/status`, Buffer.alloc(0), { qos: 1, retain: true });
  await c.endAsync();
  for (const clientId of [...clientIds, ...rigIds.map((id) => `poreloop-rig-${lab}-${id}`)]) {
    const s = await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0, ...auth }, false).catch(() => null);
    await s?.endAsync();
  }
}
