/**
 * Validation of every inbound rig-protocol payload (DESIGN.md "Rig protocol": payloads are JSON
 * validated against published JSON Schemas; invalid or oversized messages are rejected with a
 * reason, never crash the engine). The schemas in ./schemas are the normative definition; the
 * TypeScript types here mirror them.
 */
import { Ajv } from 'ajv';
import type { ValidateFunction } from 'ajv';
import type { RigEvent, RigJob, RigInfo } from '../../src/core/protocols.js';
import { err, ok, type Result } from '../../src/core/result.js';
import jobSchema from './schemas/job.schema.json' with { type: 'json' };
import eventSchema from './schemas/event.schema.json' with { type: 'json' };
import statusSchema from './schemas/status.schema.json' with { type: 'json' };
import adminSchema from './schemas/admin.schema.json' with { type: 'json' };
import errorSchema from './schemas/error.schema.json' with { type: 'json' };
import { DEFAULT_MAX_PAYLOAD_BYTES } from './topics.js';

/** Retained status payload (and Last Will). */
export interface StatusMessage {
  rigId: string;
  status: RigInfo['status'];
  protocol: string;
  protocols?: string[];
  capabilities?: string[];
  concurrency?: number;
  running?: number;
  heartbeatMs?: number;
  at?: string;
  sdk?: string;
}

export type AdminCommandName = 'pause' | 'resume' | 'cancel' | 'stop' | 'safety-stop';

export interface AdminCommand {
  command: AdminCommandName;
  commandId: string;
  jobId?: string;
  attempt?: number;
  reason?: string;
  at: string;
  protocol: string;
}

export interface ErrorNotice {
  source: string;
  topic: string;
  reason: string;
  jobId?: string;
  rigId?: string;
  bytes?: number;
  excerpt?: string;
  at: string;
  protocol: string;
}

/**
 * A job as sent: the RigJob plus `sentAt`, the orchestrator's clock when it sent this attempt
 * (review: lets a rig whose clock runs ahead say so when it finds the deadline passed).
 */
export type JobMessage = RigJob & { sentAt?: string };

export interface MessageKinds {
  job: JobMessage;
  event: RigEvent;
  status: StatusMessage;
  admin: AdminCommand;
  error: ErrorNotice;
}
export type MessageKind = keyof MessageKinds;

/** Why a payload was refused, with enough context to record it. */
export interface Rejection {
  reason: string;
  bytes: number;
  excerpt: string;
}

// RFC 3339 date-time (JSON Schema `format: date-time`), checked without ajv-formats.
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) });

const validators: { [K in MessageKind]: ValidateFunction } = {
  job: ajv.compile(jobSchema),
  event: ajv.compile(eventSchema),
  status: ajv.compile(statusSchema),
  admin: ajv.compile(adminSchema),
  error: ajv.compile(errorSchema),
};

/** The schema documents, for publication (docs, `poreloop rig schemas`). */
export const schemas = { job: jobSchema, event: eventSchema, status: statusSchema, admin: adminSchema, error: errorSchema } as const;

/** The start of a payload, printable: what a rejection record shows of it. */
export function excerptOf(payload: Buffer): string {
  return payload.subarray(0, 120).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
}

/**
 * Deepest nesting of objects/arrays an inbound payload may have. The protocol's documents are at
 * most 2 deep, but the schemas allow extra members of any shape; one of 10 000 nested objects
 * (60 KB, under the size limit) overflowed the stack of every recursive walk after parsing
 * (JSON.stringify, the dispatcher's duplicate fingerprint) and killed the orchestrator (security
 * review, finding 1). Checked on the raw bytes, before JSON.parse builds anything.
 */
export const MAX_JSON_DEPTH = 32;

/** The nesting depth of a JSON text, counted on its bytes (brackets inside strings do not count). */
export function jsonDepth(payload: Buffer, stopAbove = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < payload.length; i++) {
    const c = payload[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) {
        max = depth;
        if (max > stopAbove) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Size check, depth check, JSON parse and schema validation of one inbound payload. Never throws:
 * a bad message is a value the caller records (error topic + its own log) and then ignores.
 */
export function parseMessage<K extends MessageKind>(kind: K, payload: Buffer, maxBytes = DEFAULT_MAX_PAYLOAD_BYTES): Result<MessageKinds[K], Rejection> {
  const bytes = payload.length;
  if (bytes > maxBytes) return err({ reason: `${kind} payload of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`, bytes, excerpt: excerptOf(payload) });
  if (jsonDepth(payload, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return err({ reason: `${kind} payload nests objects or arrays more than ${MAX_JSON_DEPTH} deep`, bytes, excerpt: excerptOf(payload) });
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (e) {
    return err({ reason: `${kind} payload is not JSON: ${(e as Error).message}`, bytes, excerpt: excerptOf(payload) });
  }
  const validate = validators[kind];
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    const where = e?.instancePath ? e.instancePath : '(root)';
    return err({ reason: `${kind} payload does not match ${kind}.schema.json: ${where} ${e?.message ?? 'is invalid'}`, bytes, excerpt: excerptOf(payload) });
  }
  return ok(doc as MessageKinds[K]);
}

/** Validates an outbound document (the SDK and dispatcher never publish what a peer would reject). */
export function checkOutbound<K extends MessageKind>(kind: K, doc: MessageKinds[K]): void {
  const validate = validators[kind];
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    throw new Error(`refusing to publish an invalid ${kind}: ${e?.instancePath || '(root)'} ${e?.message ?? ''}`);
  }
}
