/**
 * Credentials out of what poreloop shows (security review xss9, finding 4: `poreloop report`
 * wrote the broker password of `mqtts://user:password@host` into index.html). The ledger keeps
 * the config as resolved; every view of it — report, dashboard, export, status — shows it
 * through `redactSecrets`. The one rule: the rig transport's and the compute wire's log and
 * error lines use it too (diff review 2026-12-07: three copies had drifted apart, and two of
 * them left `mqtt://:secret@h` in clear).
 */

/**
 * `scheme://user:password@` → `scheme://user:***@`, wherever it occurs in `text`. The password
 * runs to the last `@` before the path (`u:p@ss@host` hides all of `p@ss`); an empty user too.
 */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/]*)@/gi;

export function redactUrl(text: string): string {
  return text.replace(USERINFO, '$1$2:***@');
}

/** A deep copy of `value` with every password embedded in a URL string masked. */
export function redactSecrets<T>(value: T): T {
  if (typeof value === 'string') return redactUrl(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v)])) as T;
  return value;
}
