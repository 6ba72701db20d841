import { existsSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import type { CommandContext } from '../context.js';
import { commandHandler, type GlobalArgs } from '../common.js';

/**
 * `poreloop doctor` (issue #8): checks the ledger, the broker, the rigs' retained status and
 * a config, and says what to fix. Exit 0 when every check passes, 1 when one fails.
 */
interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

interface DoctorArgs extends GlobalArgs {
  broker?: string;
  lab?: string;
  config?: string;
  wait: number;
}

export const doctorCommandModule = (ctx: CommandContext): CommandModule<GlobalArgs, DoctorArgs> => ({
  command: 'doctor',
  describe: 'check the ledger, broker connectivity, rig status and a config; say what to fix',
  builder: (y) =>
    y
      .option('broker', { type: 'string', describe: 'MQTT broker URL to check (default: the config\'s, else mqtt://127.0.0.1:1883)' })
      .option('lab', { type: 'string', describe: 'lab whose rigs to list (default: the config\'s, else "default")' })
      .option('config', { type: 'string', describe: 'campaign config to validate' })
      .option('wait', { type: 'number', default: 1000, describe: 'ms to wait for retained rig statuses' }) as never,
  handler: commandHandler(ctx, async (args, out) => {
    const { probeBroker } = await import('../../compose/lab.js');
    const checks: Check[] = [];
    // Ledger.
    if (!existsSync(args.db)) {
      checks.push({ name: 'ledger', ok: true, detail: `${args.db} does not exist yet (a campaign creates it)` });
    } else {
      const { Ledger } = await import('../../ledger/ledger.js');
      try {
        const l = Ledger.open(args.db, { readonly: true });
        try {
          const i = l.integrity();
          const running = l.campaigns().filter((c) => c.status === 'running' || c.status === 'paused');
          checks.push({
            name: 'ledger',
            ok: i.ok,
            detail: `${args.db}: sqlite ${i.sqlite}, ${i.documents} documents, ${i.campaigns} campaigns${i.problems.length ? `; ${i.problems.join('; ')}` : ''}`,
            fix: i.ok ? undefined : 'restore the file from a backup, or start a new --db file; do not edit it by hand',
          });
          for (const c of running) {
            checks.push({ name: `campaign ${c.id}`, ok: true, detail: `status ${c.status} (last change ${c.updatedAt}); if its process is gone, continue it with: poreloop resume ${c.id} --db ${args.db}` });
          }
        } finally {
          l.close();
        }
      } catch (e) {
        checks.push({ name: 'ledger', ok: false, detail: (e as Error).message, fix: 'restore the file from a backup, or start a new --db file' });
      }
    }
    // Config.
    let brokerUrl = args.broker;
    let lab = args.lab;
    /** `exec: mqtt` (issue #21): the campaign needs an MQTT 5 broker and physics workers online. */
    let compute = false;
    if (args.config) {
      // The composition root (TF.js, twins, physics) only to validate a config.
      const { loadCampaign } = await import('../../compose/campaign.js');
      const { brokerSetting } = await import('../../config/schema.js');
      try {
        const r = loadCampaign(args.config);
        checks.push({ name: 'config', ok: true, detail: `${args.config}: valid (sha256 ${r.hash.slice(0, 12)})` });
        const configured = brokerSetting(r.config).url;
        if (!brokerUrl && configured !== 'embedded') brokerUrl = configured;
        lab ??= r.config.lab;
        compute = r.config.exec === 'mqtt';
      } catch (e) {
        checks.push({ name: 'config', ok: false, detail: (e as Error).message, fix: 'correct the named key; see docs/configuration.md' });
      }
    }
    // Broker and rigs.
    brokerUrl ??= process.env.PORELOOP_BROKER && process.env.PORELOOP_BROKER !== 'embedded' ? process.env.PORELOOP_BROKER : 'mqtt://127.0.0.1:1883';
    const probe = await probeBroker(brokerUrl, lab ?? 'default', args.wait);
    checks.push({
      name: 'broker',
      ok: probe.connected,
      detail: probe.connected ? `${probe.url}: connected` : `${probe.url}: ${probe.error}`,
      fix: probe.connected ? undefined : 'start a broker (poreloop broker, or mosquitto), check the URL, and the credentials in PORELOOP_MQTT_USERNAME / PORELOOP_MQTT_PASSWORD(_FILE)',
    });
    if (probe.connected) {
      const online = probe.rigs.filter((r) => r.status === 'online' || r.status === 'busy');
      checks.push({
        name: 'rigs',
        ok: probe.rigs.every((r) => r.status !== 'safety-stop'),
        detail: probe.rigs.length
          ? probe.rigs.map((r) => `${r.rigId} ${r.status} [${(r.capabilities ?? []).join(', ')}]`).join('; ')
          : `no rig has announced itself on lab "${lab ?? 'default'}"`,
        fix: probe.rigs.some((r) => r.status === 'safety-stop')
          ? 'a rig is in safety-stop: clear it at the rig, then send resume (poreloop rig admin)'
          : online.length === 0
            ? 'start the rigs (or poreloop rig simulate / poreloop lab) on this lab'
            : undefined,
      });
    }
    if (probe.connected && compute) {
      // The campaign's compute connection is MQTT 5 and refuses a broker whose Maximum Packet
      // Size cannot carry a blob chunk: the probe above (3.1.1) passed on brokers where the run
      // then failed at once (issue #21 scale review). The same connect, credentials and all.
      const { probeComputeBroker } = await import('../../compose/compute-worker.js');
      try {
        const { maxPacket } = await probeComputeBroker(brokerUrl, Math.max(1000, args.wait * 3));
        checks.push({ name: 'compute broker', ok: true, detail: `${probe.url}: MQTT 5, maximum packet size ${maxPacket} bytes` });
      } catch (e) {
        checks.push({ name: 'compute broker', ok: false, detail: (e as Error).message, fix: 'exec: mqtt needs an MQTT 5 broker with shared subscriptions (Mosquitto 2, EMQX, HiveMQ) and a max_packet_size of 1 MiB (configs/mosquitto/mosquitto.conf); or set exec: local (docs/scale-out.md)' });
      }
    }
    if (probe.connected && (probe.workers.length || compute)) {
      // Compute workers (issue #21): a crashed one shows offline (its Last Will). With exec: mqtt
      // the campaign's physics waits for a physics worker (twin volumes and surrogate fits are
      // done here without one): none online fails the check.
      const on = probe.workers.filter((w) => w.status === 'online');
      const slots = (kind: string) => on.filter((w) => (w.kinds as string[]).includes(kind)).reduce((n, w) => n + w.concurrency, 0);
      const physics = slots('physics');
      checks.push({
        name: 'workers',
        ok: !compute || physics > 0,
        detail:
          (probe.workers.length ? probe.workers.map((w) => `${w.workerId} ${w.status}${w.status === 'online' ? ` [${w.kinds.join(', ')}] × ${w.concurrency}${w.host ? ` on ${w.host}` : ''}` : ''}`).join('; ') : `no compute worker on lab "${lab ?? 'default'}"`) +
          `; ${on.reduce((n, w) => n + w.concurrency, 0)} slots online` +
          (compute ? ` (physics ${physics}, twin ${slots('twin')}, surrogate ${slots('surrogate')})` : ''),
        fix: compute && physics === 0 ? `exec: mqtt sends the physics to workers: start one with poreloop worker --broker ${probe.url} --lab ${lab ?? 'default'} --kinds physics,twin` : undefined,
      });
    }
    for (const c of checks) {
      out.info(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
      if (c.fix) out.info(`     fix: ${c.fix}`);
    }
    const ok = checks.every((c) => c.ok);
    out.result({ ok, checks });
    return ok ? 0 : 1;
  }),
});
