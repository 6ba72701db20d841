/**
 * Topic names and protocol constants of the poreloop rig protocol (docs/rig-protocol.md).
 * Everything a rig and the dispatcher agree on about *where* messages go lives here, so that
 * the protocol document, the SDK, the dispatcher and the Mosquitto ACL recipe
 * (configs/mosquitto/acl) cannot drift apart.
 */
import { createHash } from 'node:crypto';
import { NAME_PATTERN, NAME_RULE } from '../../src/core/names.js';

/** Protocol version carried in every payload (`protocol` field): MAJOR.MINOR. */
export const PROTOCOL_VERSION = '1.0';
/** Versions this implementation understands, newest first (advertised in rig status). */
export const SUPPORTED_PROTOCOLS: readonly string[] = ['1.0'];
/** Default cap on an inbound payload; larger messages are rejected unread (docs/security.md). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024;

/** Names may not contain MQTT wildcards or the level separator (MQTT 3.1.1 §4.7); the config uses the same rule. */
const NAME = NAME_PATTERN;

export function isName(s: string): boolean {
  return NAME.test(s);
}

export function assertName(kind: string, s: string): string {
  if (!NAME.test(s)) {
    throw new Error(`${kind} "${s}" is not allowed: use ${NAME_RULE}`);
  }
  return s;
}

export type RigTopicKind = 'status' | 'jobs' | 'events' | 'admin' | 'errors';
const RIG_TOPIC_KINDS: readonly string[] = ['status', 'jobs', 'events', 'admin', 'errors'];

/** The client id a rig uses by default: `poreloop-rig-<lab>-<rigId>` (rig-protocol.md §1). */
export function rigClientId(lab: string, rigId: string): string {
  return `poreloop-rig-${lab}-${rigId}`;
}

/**
 * The short form, for brokers that hold MQTT 3.1.1 to the client ids it guarantees: 1–23
 * characters of 0-9 a-z A-Z (MQTT-3.1.3-5). `pr` + 21 base-36 digits of SHA-256(lab/rigId):
 * stable across restarts (the broker keeps the rig's session under it) and distinct per rig.
 */
export function shortClientId(lab: string, rigId: string): string {
  const h = BigInt('0x' + createHash('sha256').update(`${lab}/${rigId}`).digest('hex').slice(0, 32));
  return 'pr' + h.toString(36).padStart(25, '0').slice(0, 21);
}

/** Topic builders for one lab: `poreloop/v1/<lab>/…`. */
export interface Topics {
  readonly root: string;
  status(rigId: string): string;
  jobs(rigId: string): string;
  events(rigId: string): string;
  admin(rigId: string): string;
  /**
   * Orchestrator → rig: error notices about *this rig's* messages (rejected events and status),
   * on a topic the rig may read under the ACL (issue #14; `errors/<source>` is write-only for rigs).
   */
  rigErrors(rigId: string): string;
  /** Error notices published by `source` (a rig id or `orchestrator`). */
  errors(source: string): string;
  /** Filters the dispatcher subscribes to. */
  readonly allStatus: string;
  readonly allEvents: string;
  readonly allErrors: string;
  /** Parses `…/rigs/<rigId>/<kind>`; null for any other topic. */
  parse(topic: string): { rigId: string; kind: RigTopicKind } | null;
}

export function topicsFor(lab: string, major = PROTOCOL_VERSION.split('.')[0]): Topics {
  assertName('lab', lab);
  const root = `poreloop/v${major}/${lab}`;
  const rig = (id: string, kind: string) => `${root}/rigs/${assertName('rig id', id)}/${kind}`;
  return {
    root,
    status: (id) => rig(id, 'status'),
    jobs: (id) => rig(id, 'jobs'),
    events: (id) => rig(id, 'events'),
    admin: (id) => rig(id, 'admin'),
    rigErrors: (id) => rig(id, 'errors'),
    errors: (source) => `${root}/errors/${assertName('error source', source)}`,
    allStatus: `${root}/rigs/+/status`,
    allEvents: `${root}/rigs/+/events`,
    allErrors: `${root}/errors/+`,
    parse(topic) {
      if (!topic.startsWith(root + '/rigs/')) return null;
      const rest = topic.slice(root.length + 6).split('/');
      if (rest.length !== 2) return null;
      const [rigId, kind] = rest;
      if (!RIG_TOPIC_KINDS.includes(kind)) return null;
      return { rigId, kind: kind as RigTopicKind };
    },
  };
}

/** Same major version ⇒ compatible (minor versions only add optional fields). */
export function compatibleProtocol(version: string, supported: readonly string[] = SUPPORTED_PROTOCOLS): boolean {
  const major = version.split('.')[0];
  return supported.some((v) => v.split('.')[0] === major);
}

/**
 * MQTT topic-filter matching (MQTT 3.1.1 §4.7.1): `+` matches one level, `#` the rest
 * (including the parent level); filters starting with a wildcard do not match `$` topics.
 */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter.startsWith('$share/')) filter = filter.split('/').slice(2).join('/');
  const f = filter.split('/');
  const t = topic.split('/');
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
