/**
 * The rig protocol's names, topics, schemas and message checks (robots/protocol), apart from
 * the broker and the MQTT client of ./rigs.ts: `poreloop rig schema` and the argument checks of
 * every `rig` command need only these, and loading ./rigs.ts also loads aedes and mqtt
 * (experiments/results/cli-start.md). src/cli reaches plugins only through the composition
 * root (DESIGN.md).
 */
export { PROTOCOL_VERSION, assertName, topicsFor } from '../../robots/protocol/topics.js';
export { checkOutbound, parseMessage, schemas, type AdminCommand, type AdminCommandName, type StatusMessage } from '../../robots/protocol/validate.js';
