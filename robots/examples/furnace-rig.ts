/**
 * An example rig adapter: a tube furnace that sinters GDL samples (capability `fabricate`).
 * This is all a lab writes; the SDK speaks the protocol (docs/rig-protocol.md).
 *
 *   PORELOOP_MQTT_URL=mqtt://127.0.0.1:1883 npx tsx robots/examples/furnace-rig.ts furnace-1 [lab]
 *
 * Credentials and TLS come from PORELOOP_MQTT_USERNAME / PORELOOP_MQTT_PASSWORD(_FILE) /
 * PORELOOP_MQTT_CA / _CERT / _KEY (docs/security.md); PORELOOP_RIG_KEY, if the lab signs rig
 * messages, is this rig's signing key. Replace `Furnace` with the real driver.
 */
import type { RigJob } from '../../src/core/protocols.js';
import { createRig, type HandlerResult } from '../sdk/index.js';

/** Stand-in for the instrument driver: setpoint, ramp, hold, weigh. */
class Furnace {
  async ramp(targetC: number, signal: AbortSignal, onStep: (fraction: number) => Promise<void>): Promise<void> {
    for (let step = 1; step <= 5; step++) {
      if (signal.aborted) throw new Error(`furnace stopped at step ${step}: ${String(signal.reason)}`);
      await new Promise((r) => setTimeout(r, 100));
      await onStep(step / 5);
    }
    void targetC;
  }
  async weigh(): Promise<number> {
    return 1 + Math.random() * 0.01;
  }
}

const furnace = new Furnace();
const [id = 'furnace-1', lab = 'default'] = process.argv.slice(2);

const rig = createRig({
  id,
  lab,
  capabilities: ['fabricate'],
  broker: process.env.PORELOOP_MQTT_URL ?? 'mqtt://127.0.0.1:1883',
  stateDir: process.env.RIG_STATE_DIR ?? `./.rig-state`,
  signingKey: process.env.PORELOOP_RIG_KEY,
  // Also shows the orchestrator's notices about messages of this rig it rejected.
  onProblem: (m) => process.stderr.write(`${id}: ${m}\n`),
  async handle(job: RigJob, report, { signal }): Promise<HandlerResult> {
    const ptfe = Number(job.params.ptfeLoading ?? 0);
    // A recipe the furnace cannot make is an infeasible *result*, not a failure.
    if (ptfe > 40) return { measurements: {}, feasible: false };
    await furnace.ramp(350, signal, (f) => report(f, 'sintering'));
    // Report under the names the campaign measures (job.measure, e.g. rigs.measure: [mass_g]).
    return { measurements: { mass_g: await furnace.weigh() }, feasible: true };
  },
});

await rig.start();
process.stderr.write(`${id} online in lab ${lab}; Ctrl-C to stop\n`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void rig.stop({ graceMs: 30_000 }).then(() => process.exit(0));
  });
}
