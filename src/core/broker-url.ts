/**
 * The broker URLs poreloop will connect to (issue #14: `broker: file:///etc/passwd` passed
 * validation and MQTT.js, not knowing the scheme, silently connected to localhost:1883). One
 * rule for the config schema, the CLI's --broker and the MQTT transport.
 */
export const BROKER_SCHEMES: readonly string[] = ['mqtt', 'mqtts', 'ws', 'wss'];

/** Why `url` is not a broker URL poreloop accepts, or undefined when it is one. */
export function brokerUrlProblem(url: string): string | undefined {
  const allowed = BROKER_SCHEMES.map((s) => `${s}://`).join(', ');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `expected a broker URL such as mqtt://host:1883 (${allowed}); this is not a URL`;
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!BROKER_SCHEMES.includes(scheme)) return `broker URL scheme "${scheme}:" is not allowed; use ${allowed}`;
  if (u.hostname === '') return `broker URL names no host; expected e.g. ${scheme}://host:1883`;
  return undefined;
}
