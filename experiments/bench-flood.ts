/**
 * `npm run bench -- flood [count] [kB]` (issue #14, "Bounded resources"): a running dispatcher
 * on a real Mosquitto receives `count` events of `kB` kB each for job ids it never dispatched
 * (default 10 000 × 60 kB, the flood of the issue, which took the orchestrator from 216 MB to
 * 2 GB when such events were held for a later dispatch). The flood comes from `mosquitto_pub`
 * in another process, so this process's memory is the dispatcher's. Reports the resident set
 * and heap before, at peak and after, and how many rejections were recorded vs dropped.
 * Writes experiments/results/flood.md (+ .json).
 *
 * Needs a Mosquitto at $PORELOOP_TEST_MQTT_URL (default mqtt://127.0.0.1:1883), or starts one.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createDispatcher, type InvalidMessage } from '../robots/dispatcher.js';
import { PROTOCOL_VERSION, topicsFor } from '../robots/protocol/topics.js';
import { startTestBroker, uniq } from '../robots/testing/brokers.js';
import { connectMqtt } from '../robots/transport/mqtt.js';

const MB = 1024 * 1024;
const mem = () => {
  const m = process.memoryUsage();
  return { rssMB: +(m.rss / MB).toFixed(1), heapMB: +(m.heapUsed / MB).toFixed(1) };
};
const gc = () => (globalThis as { gc?: () => void }).gc?.();

export async function run(args: string[]): Promise<void> {
  const count = Number(args[0] ?? 10_000);
  const kB = Number(args[1] ?? 60);
  const broker = await startTestBroker('mosquitto');
  const url = new URL(broker.url);
  const lab = uniq('flood');
  const topics = topicsFor(lab);
  const t = await connectMqtt({ url: broker.url, clientId: uniq('orch'), clean: true });
  const d = createDispatcher({ transport: t, lab, campaignId: 'flood', options: { timeoutMs: 60_000 } });
  const invalid: InvalidMessage[] = [];
  d.invalid$.subscribe((m) => invalid.push(m));
  await d.start();
  gc();
  const before = mem();
  let peak = before;
  const sampler = setInterval(() => {
    const m = mem();
    if (m.rssMB > peak.rssMB) peak = m;
  }, 50);
  const t0 = Date.now();
  // One event per line; `-l` publishes each line of stdin as a message.
  const pub = spawn('mosquitto_pub', ['-h', url.hostname, '-p', url.port || '1883', '-q', '1', '-t', topics.events('r'), '-l', '-i', uniq('flooder')], { stdio: ['pipe', 'ignore', 'inherit'] });
  const pad = 'x'.repeat(kB * 1024 - 200);
  for (let i = 0; i < count; i++) {
    const line = JSON.stringify({ jobId: `ghost-${i}`, rigId: 'r', attempt: 1, seq: 1, type: 'result', measurements: { v: i }, padding: pad, at: new Date().toISOString(), protocol: PROTOCOL_VERSION }) + '\n';
    if (!pub.stdin.write(line)) await new Promise((r) => pub.stdin.once('drain', r));
  }
  pub.stdin.end();
  await new Promise((r) => pub.once('exit', r));
  // Mosquitto drops QoS 1 messages beyond a slow subscriber's queue (max_queued_messages,
  // default 1000), so wait until everything that will arrive has: 2 s without a new one.
  for (let last = -1; last !== d.stats().unbound; ) {
    last = d.stats().unbound;
    await new Promise((r) => setTimeout(r, 2000));
  }
  const seconds = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  gc();
  const after = mem();
  const stats = d.stats();
  await d.stop();
  await t.close();
  await broker.close();
  const result = { count, kB, seconds: +seconds.toFixed(1), before, peak, after, recorded: invalid.length, dropped: stats.unboundDropped, unbound: stats.unbound, node: process.version };
  writeFileSync(new URL('results/flood.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  const md = `# Flood of events for unknown job ids (issue #14)

\`npm run bench -- flood ${count} ${kB}\` (run with \`node --expose-gc\` through tsx for the
after-GC figures): ${count} events of ${kB} kB each for job ids the dispatcher never sent, published by
\`mosquitto_pub\` (another process) to a Mosquitto, read by one dispatcher. Node ${process.version}.

| | RSS (MB) | heap used (MB) |
| --- | --- | --- |
| before | ${before.rssMB} | ${before.heapMB} |
| peak during the flood | ${peak.rssMB} | ${peak.heapMB} |
| after (GC) | ${after.rssMB} | ${after.heapMB} |

- ${stats.unbound} of ${count} events received (Mosquitto drops QoS 1 messages beyond a slow
  subscriber's queue, \`max_queued_messages\`) and rejected in ${result.seconds} s; ${invalid.length} recorded (the
  default sample: 100 at once, then 5 per second), ${stats.unboundDropped} dropped unrecorded.
- Before the fix such events were kept per job id for a later dispatch: the issue measured
  216 MB → 2 GB for three floods of this size.
`;
  writeFileSync(new URL('results/flood.md', import.meta.url), md);
  process.stdout.write(md);
}
