/**
 * Opt-in HMAC-SHA256 signatures on what a rig publishes (its events and status, the Last Will
 * included), for brokers you do not control (issue #14; docs/security.md, "Signed rig
 * messages"). Without them, anyone who can publish on a rig's topic — an open broker, or the
 * broker's operator — can report as that rig. With a key per rig, shared by the rig and the
 * orchestrator only, the dispatcher rejects every rig message that is unsigned or signed with
 * another key.
 *
 * No canonical JSON is needed: the signer signs the exact bytes of its own serialisation of
 * the JSON object and appends the signature as a last member,
 *
 *     body = {"jobId":"t1-s0",…,"protocol":"1.0"}
 *     wire = body without its final "}" + ,"sig":"<hex HMAC-SHA256(key, body)>"}
 *
 * and the verifier strips that last member, restores the "}" and recomputes. The result is
 * still one JSON object (schemas allow extra members), so unsigned receivers read it as usual.
 * A signature binds the whole message (job, attempt, seq, measurements); a replay of a signed
 * event is a duplicate of it, and the topic check binds it to the rig.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const SIG = /,"sig":"([0-9a-f]{64})"\}\s*$/;
/** Keys shorter than this are refused: 16 bytes is the least HMAC-SHA256 should be given (RFC 2104 §3). */
export const MIN_KEY_BYTES = 16;

const mac = (key: Uint8Array, body: string) => createHmac('sha256', key).update(body, 'utf8').digest();

/** Signs one serialised JSON object (`JSON.stringify` of a non-empty object). */
export function signPayload(body: string, key: Uint8Array): string {
  if (!body.endsWith('}') || body.trim() === '{}') throw new Error('signPayload: expected the serialisation of a non-empty JSON object');
  return `${body.slice(0, -1)},"sig":"${mac(key, body).toString('hex')}"}`;
}

/** undefined when `payload` carries a valid signature made with `key`; else why not. */
export function signatureProblem(payload: Buffer, key: Uint8Array): string | undefined {
  const text = payload.toString('utf8');
  const m = SIG.exec(text);
  if (!m) return 'unsigned: messages of this rig must end with a "sig" member (HMAC-SHA256 of the rest; docs/rig-protocol.md §3)';
  const body = text.slice(0, m.index) + '}';
  const given = Buffer.from(m[1], 'hex');
  return timingSafeEqual(given, mac(key, body)) ? undefined : 'bad signature: not made with this rig\'s key, or the message was altered';
}

/**
 * Rig keys from text: one `rigId:key` per line (`#` comments and blank lines allowed); the key
 * is the rest of the line, used as UTF-8 bytes, at least MIN_KEY_BYTES long.
 */
export function parseRigKeys(text: string, where: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const at = line.indexOf(':');
    const key = Buffer.from(at > 0 ? line.slice(at + 1) : '', 'utf8');
    if (at <= 0 || key.length < MIN_KEY_BYTES) throw new Error(`${where} line ${i + 1}: expected rigId:key with a key of at least ${MIN_KEY_BYTES} bytes`);
    keys.set(line.slice(0, at), key);
  });
  return keys;
}
