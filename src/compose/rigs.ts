/**
 * The robot-rig pieces behind `poreloop broker` and `poreloop rig …` (issue 7). src/cli reaches
 * plugins only through the composition root (DESIGN.md, enforced by tests/architecture.test.ts).
 */
import { readFileSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import { parseRigKeys } from '../../robots/protocol/signing.js';
export { startEmbeddedBroker } from '../../robots/broker.js';
export * from './rig-protocol.js';
export { createSimulatedLab, type FaultSpec } from '../../robots/sim/index.js';
export { connectMqtt, redact } from '../../robots/transport/mqtt.js';

/**
 * The users of `poreloop broker --users FILE` (issue #14): one `username:password` per line
 * (`#` comments and blank lines allowed), the format of a Docker/Kubernetes secret rather
 * than Mosquitto's hashed password file. A rig's username is its rig id; `orchestrator` is the
 * dispatcher's. With users, the broker refuses anonymous clients and applies the rig ACL.
 */
export function readBrokerUsers(path: string, flag = '--users'): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInputError(`cannot read ${path}: ${(e as Error).message}`, flag);
  }
  const users: Record<string, string> = {};
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = line.indexOf(':');
    const user = at > 0 ? line.slice(0, at) : '';
    const password = at > 0 ? line.slice(at + 1) : '';
    if (!user || !password || /[+#/\s]/.test(user)) {
      throw new BadInputError(`${path} line ${i + 1}: expected username:password (a username without spaces, +, # or /)`, flag);
    }
    users[user] = password;
  });
  if (Object.keys(users).length === 0) throw new BadInputError(`${path} names no users; expected lines of username:password`, flag);
  return users;
}

/**
 * Rig signing keys (opt-in, docs/security.md "Signed rig messages"): the file named by
 * $PORELOOP_RIG_KEYS_FILE, one `rigId:key` per line. Set, the campaign's dispatcher hears only
 * rigs that sign their messages with their key, and simulated rigs sign with theirs.
 */
export function rigKeysFromEnv(env: NodeJS.ProcessEnv = process.env): Map<string, Buffer> | undefined {
  const path = env.PORELOOP_RIG_KEYS_FILE;
  if (!path) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new BadInputError(`cannot read ${path}: ${(e as Error).message}`, 'PORELOOP_RIG_KEYS_FILE');
  }
  try {
    return parseRigKeys(text, path);
  } catch (e) {
    throw new BadInputError((e as Error).message, 'PORELOOP_RIG_KEYS_FILE');
  }
}
