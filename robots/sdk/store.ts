/**
 * The rig's small persistent memory of finished executions (DESIGN.md "Design for
 * re-delivery"): the orchestrator may send the same (jobId, attempt) again — MQTT QoS 1
 * redelivery, or a resumed campaign re-dispatching a job it recorded as dispatched — and a
 * rig must answer with the events it already sent instead of running the job a second time.
 * Without a state dir the record lives in memory (lost when the process ends).
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RigEvent } from '../../src/core/protocols.js';

export interface FinishedStore {
  get(key: string): RigEvent[] | undefined;
  put(key: string, events: RigEvent[]): void;
  readonly size: number;
}

interface FileShape {
  version: 1;
  finished: Array<[string, RigEvent[]]>;
}

/** Keeps the newest `limit` entries; with `file`, rewrites it atomically after every put. */
export function createFinishedStore(file?: string, limit = 10_000): FinishedStore {
  const map = new Map<string, RigEvent[]>();
  if (file) {
    try {
      const doc = JSON.parse(readFileSync(file, 'utf8')) as FileShape;
      for (const [k, v] of doc.finished) map.set(k, v);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`rig state file ${file} is unreadable: ${(e as Error).message}`);
    }
  }
  const save = () => {
    if (!file) return;
    const doc: FileShape = { version: 1, finished: [...map] };
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(doc));
    renameSync(tmp, file);
  };
  return {
    get: (k) => map.get(k),
    put(k, events) {
      map.delete(k);
      map.set(k, events);
      while (map.size > limit) map.delete(map.keys().next().value as string);
      save();
    },
    get size() {
      return map.size;
    },
  };
}

export function stateFileFor(stateDir: string, lab: string, rigId: string): string {
  mkdirSync(stateDir, { recursive: true });
  return join(stateDir, `rig-${lab}-${rigId}.json`);
}
