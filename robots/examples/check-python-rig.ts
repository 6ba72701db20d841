/**
 * Runs the Python rig of docs/rig-protocol.md (./rig.py) against the reference dispatcher on the
 * embedded broker with credentials and the rig ACL: a job round trip reporting the names the job
 * asks for, a duplicate delivery answered from the rig's record, a rejected capability, and the
 * Last Will when the process is killed.
 *
 *   PYTHON=/path/to/python-with-paho npx tsx robots/examples/check-python-rig.ts
 *
 * Not part of the test suite: it needs Python with paho-mqtt (1.6, e.g. Debian 12's
 * python3-paho-mqtt, or 2.x), which poreloop does not install. Exit code 0 = compatible.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RigEvent } from '../../src/core/protocols.js';
import { generateCredentials, startEmbeddedBroker } from '../broker.js';
import { createDispatcher } from '../dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from '../protocol/topics.js';
import { waitFor } from '../testing/brokers.js';
import { connectMqtt } from '../transport/mqtt.js';

const python = process.env.PYTHON ?? 'python3';
const script = fileURLToPath(new URL('./rig.py', import.meta.url));
const creds = generateCredentials(['py1']);
const broker = await startEmbeddedBroker({ users: creds.users });
const cwd = mkdtempSync(join(tmpdir(), 'pyrig-'));
const lab = 'pycheck';
const env = { ...process.env, PORELOOP_MQTT_USERNAME: 'py1', PORELOOP_MQTT_PASSWORD: creds.users.py1 };
const child = spawn(python, [script, lab, 'py1', '127.0.0.1', String(broker.port)], { cwd, env, stdio: ['ignore', 'inherit', 'inherit'] });
const t = await connectMqtt({ url: broker.url, clientId: 'pycheck-orch', ...creds.of('orchestrator') }, {});
const d = createDispatcher({ transport: t, lab, campaignId: 'c', options: { timeoutMs: 5000 } });
const events: RigEvent[] = [];
d.onEvent((e) => events.push(e));
await d.start();
const check = (ok: boolean, what: string) => {
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${what}\n`);
  if (!ok) process.exitCode = 1;
};
try {
  await waitFor(() => d.rigs().some((r) => r.rigId === 'py1' && r.status === 'online'), 'python rig online', 15_000);
  check(true, 'python rig announced itself with a retained status');
  const job = { jobId: 'py-j1', campaignId: 'c', trialId: 't', attempt: 1, capability: 'characterise', params: { a: 1, b: 2 }, measure: ['tau_z'], deadline: new Date(Date.now() + 60_000).toISOString(), protocol: PROTOCOL_VERSION };
  await d.dispatch(job);
  await waitFor(() => events.some((e) => e.final), 'result');
  const r = events.find((e) => e.final)!;
  check(r.type === 'result' && r.measurements?.tau_z === 3 && r.seq === 2, `round trip: ${r.type} tau_z=${r.measurements?.tau_z} seq=${r.seq}`);
  // duplicate delivery of the same (jobId, attempt): answered from the record, same seq
  const raw: RigEvent[] = [];
  await t.subscribe(topicsFor(lab).events('py1'), (_t, p) => raw.push(JSON.parse(p.toString())));
  await t.publish(topicsFor(lab).jobs('py1'), JSON.stringify(job), { qos: 1 });
  await waitFor(() => raw.length > 0, 'replayed result');
  check(raw[0].type === 'result' && raw[0].seq === 2 && raw.length === 1, 'duplicate job answered with the stored result, not re-run');
  // (the dispatcher never sends a job to a rig without the capability, so publish it directly)
  await t.publish(topicsFor(lab).jobs('py1'), JSON.stringify({ ...job, jobId: 'py-j2', capability: 'durability' }), { qos: 1 });
  await waitFor(() => raw.some((e) => e.jobId === 'py-j2'), 'rejection');
  check(raw.find((e) => e.jobId === 'py-j2')!.type === 'rejected', 'unknown capability rejected');
  child.kill('SIGKILL');
  await waitFor(() => d.rigs().find((x) => x.rigId === 'py1')?.status === 'offline', 'Last Will', 15_000);
  check(true, 'Last Will marks the killed rig offline');
} catch (e) {
  check(false, (e as Error).message);
} finally {
  child.kill('SIGKILL');
  await d.stop();
  await t.close();
  await broker.close();
  rmSync(cwd, { recursive: true, force: true });
}
