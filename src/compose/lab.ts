import { topicsFor } from '../../robots/protocol/topics.js';
import { parseMessage, type StatusMessage } from '../../robots/protocol/validate.js';
import { connectMqtt, redact } from '../../robots/transport/mqtt.js';
import { computeTopics, parseWorkerStatus, type WorkerStatus } from '../exec/mqtt-wire.js';

/**
 * What `poreloop doctor` asks a broker: can we connect, and which rigs of a lab have a
 * retained status (online, offline by Last Will, paused, safety-stop)? And which compute
 * workers (`poreloop worker`) serve it?
 */
export interface BrokerProbe {
  url: string;
  connected: boolean;
  error?: string;
  rigs: StatusMessage[];
  /** Compute workers of the lab (issue #21): retained status, `offline` from a Last Will. */
  workers: WorkerStatus[];
  invalid: number;
}

export async function probeBroker(url: string, lab: string, waitMs = 1000): Promise<BrokerProbe> {
  const topics = topicsFor(lab);
  let transport;
  try {
    transport = await connectMqtt({ url, clientId: `poreloop-doctor-${process.pid}-${Date.now() % 1e6}`, clean: true, connectTimeoutMs: Math.max(1000, waitMs * 3) });
  } catch (e) {
    return { url: redact(url), connected: false, error: (e as Error).message, rigs: [], workers: [], invalid: 0 };
  }
  const rigs = new Map<string, StatusMessage>();
  const workers = new Map<string, WorkerStatus>();
  let invalid = 0;
  try {
    await transport.subscribe(computeTopics(lab).allStatus, (_topic, payload) => {
      // The schema the campaign's executor applies (a status without a kinds list made the
      // doctor's worker line throw); an empty payload is a cleared status.
      if (!payload.length) return;
      try {
        const w = parseWorkerStatus(payload);
        workers.set(w.workerId, w);
      } catch {
        invalid++;
      }
    });
    await transport.subscribe(topics.allStatus, (_topic, payload) => {
      const r = parseMessage('status', payload);
      if (r.ok) rigs.set(r.value.rigId, r.value);
      else invalid++;
    });
    // Retained statuses arrive right after the subscription; give them a moment.
    await new Promise((resolve) => setTimeout(resolve, waitMs));
  } finally {
    await transport.close();
  }
  return { url: redact(url), connected: true, rigs: [...rigs.values()].sort((a, b) => a.rigId.localeCompare(b.rigId)), workers: [...workers.values()].sort((a, b) => a.workerId.localeCompare(b.workerId)), invalid };
}
