/**
 * The robot-rig pieces behind `poreloop broker` and `poreloop rig …` (issue 7). src/cli reaches
 * plugins only through the composition root (DESIGN.md, enforced by tests/architecture.test.ts).
 */
export { startEmbeddedBroker } from '../../robots/broker.js';
export { PROTOCOL_VERSION, assertName, topicsFor } from '../../robots/protocol/topics.js';
export { checkOutbound, parseMessage, schemas, type AdminCommand, type AdminCommandName, type StatusMessage } from '../../robots/protocol/validate.js';
export { createSimulatedLab, type FaultSpec } from '../../robots/sim/index.js';
export { connectMqtt, redact } from '../../robots/transport/mqtt.js';
