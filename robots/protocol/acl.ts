/**
 * The rig protocol's topic ACL, in Mosquitto's `acl_file` syntax (mosquitto.conf(5)), and a
 * matcher for it, so that the embedded broker enforces exactly what a Mosquitto with
 * configs/mosquitto/acl enforces (issue #14). `PORELOOP_ACL` is that file's rule set; a test
 * (robots/broker.security.test.ts) checks that the committed file says the same.
 *
 * Supported: `user <name>`, `topic [read|write|readwrite|deny] <topic>` (for the current user;
 * before any `user` line: for anonymous clients), `pattern [read|write|readwrite|deny] <topic>`
 * (for every client, with %u = username and %c = client id), `#` comments. A deny rule that
 * matches wins over any grant; no matching grant means no access.
 */
import { topicMatches } from './topics.js';

/**
 * The rules of configs/mosquitto/acl (comments aside): every rig is a user named by its rig id;
 * `compute` is the compute workers' login (issue #21; unused on the embedded broker, which
 * cannot serve them).
 */
export const PORELOOP_ACL = `user orchestrator
topic readwrite poreloop/#

user compute
topic read poreloop/v1/+/compute/tasks/#
topic write poreloop/v1/+/compute/replies/+
topic readwrite poreloop/v1/+/compute/blobs/#
topic readwrite poreloop/v1/+/compute/workers/+/status

pattern read poreloop/v1/+/rigs/%u/jobs
pattern read poreloop/v1/+/rigs/%u/admin
pattern read poreloop/v1/+/rigs/%u/errors
pattern write poreloop/v1/+/rigs/%u/status
pattern write poreloop/v1/+/rigs/%u/events
pattern write poreloop/v1/+/errors/%u
`;

type Access = 'read' | 'write' | 'readwrite' | 'deny';

interface Rule {
  access: Access;
  topic: string;
  /** undefined: a `pattern` (everyone); null: anonymous; else that user. */
  user: string | null | undefined;
}

export interface Acl {
  /** May this client publish on `topic`? */
  canPublish(who: AclClient, topic: string): boolean;
  /** May this client receive a message published on `topic`? */
  canRead(who: AclClient, topic: string): boolean;
  /** Does some read grant cover every topic the subscription `filter` can match? */
  canSubscribe(who: AclClient, filter: string): boolean;
}

export interface AclClient {
  username?: string;
  clientId: string;
}

/** Parses ACL text; throws on a line it does not understand (a typo must not grant access). */
export function parseAcl(text: string): Acl {
  const rules: Rule[] = [];
  let user: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    const kind = words[0];
    if (kind === 'user' && words.length === 2) {
      user = words[1];
      return;
    }
    if ((kind === 'topic' || kind === 'pattern') && (words.length === 2 || words.length === 3)) {
      const access = (words.length === 3 ? words[1] : 'readwrite') as Access;
      if (!['read', 'write', 'readwrite', 'deny'].includes(access)) throw new Error(`ACL line ${i + 1}: unknown access "${access}"`);
      rules.push({ access, topic: words[words.length - 1], user: kind === 'pattern' ? undefined : user });
      return;
    }
    throw new Error(`ACL line ${i + 1}: cannot parse "${line}"`);
  });

  // A username or client id holding a wildcard or a level separator would widen a pattern
  // (CVE-2017-7650 in Mosquitto): such clients get no pattern rules.
  const safe = (s: string | undefined) => s !== undefined && s !== '' && !/[+#/]/.test(s);
  const applicable = (who: AclClient): Array<{ access: Access; topic: string }> => {
    const out: Array<{ access: Access; topic: string }> = [];
    for (const r of rules) {
      if (r.user === undefined) {
        if (r.topic.includes('%u') && !safe(who.username)) continue;
        if (r.topic.includes('%c') && !safe(who.clientId)) continue;
        out.push({ access: r.access, topic: r.topic.replaceAll('%u', who.username ?? '').replaceAll('%c', who.clientId) });
      } else if (r.user === (who.username ?? null)) out.push(r);
    }
    return out;
  };
  const decide = (who: AclClient, want: 'read' | 'write', matches: (rule: string) => boolean): boolean => {
    const mine = applicable(who).filter((r) => matches(r.topic));
    if (mine.some((r) => r.access === 'deny')) return false;
    return mine.some((r) => r.access === want || r.access === 'readwrite');
  };
  return {
    canPublish: (who, topic) => decide(who, 'write', (rule) => topicMatches(rule, topic)),
    canRead: (who, topic) => decide(who, 'read', (rule) => topicMatches(rule, topic)),
    canSubscribe: (who, filter) => decide(who, 'read', (rule) => filterCovers(rule, filter)),
  };
}

/** Every topic `filter` matches is matched by `rule` (a wildcard in the filter needs one in the rule). */
function filterCovers(rule: string, filter: string): boolean {
  const r = rule.split('/');
  const f = filter.split('/');
  for (let i = 0; i < r.length; i++) {
    if (r[i] === '#') return true;
    if (i >= f.length || f[i] === '#') return false;
    if (f[i] === '+' ? r[i] !== '+' : r[i] !== '+' && r[i] !== f[i]) return false;
  }
  return r.length === f.length;
}
