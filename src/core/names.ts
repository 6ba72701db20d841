/**
 * Names that become MQTT topic levels or client ids: labs, rig ids, capabilities. One rule for
 * the campaign config and the rig protocol (issue #14: the config allowed lab names the protocol
 * refused, and the other way round). No MQTT wildcards (+ #), no level separator (/), no spaces
 * (MQTT 3.1.1 §4.7); at most 64 characters.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
export const NAME_RULE = '1–64 characters A–Z a–z 0–9 _ . -, starting with a letter or digit (no MQTT wildcards, spaces or /)';
