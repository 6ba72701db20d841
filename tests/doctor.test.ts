import { closeSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../src/ledger/ledger.js';
import { startTestBroker } from '../robots/testing/brokers.js';
import { mosquittoMissing, skipWithout } from '../robots/testing/services.js';
import { cli, tmp } from './helpers.js';

const noMosquitto = skipWithout(await mosquittoMissing('broker'), 'doctor with a reachable broker');

/** Issue #8: `poreloop doctor` checks the ledger, broker, rigs and a config, and says what to fix. */
describe('poreloop doctor', () => {
  it.skipIf(noMosquitto)('passes on a healthy ledger and a reachable broker', async () => {
    const broker = await startTestBroker('mosquitto');
    try {
      const db = join(tmp(), 'l.db');
      const l = Ledger.open(db);
      l.append('c', 'CampaignStarted', { name: 'n', config: {}, configHash: 'h', seed: 1, source: 's', versions: {} }, 'start');
      l.close();
      const r = await cli(['doctor', '--db', db, '--broker', broker.url, '--lab', `doc${process.pid}`, '--wait', '200', '--json']);
      const doc = JSON.parse(r.stdout);
      expect(doc.checks.find((c: { name: string }) => c.name === 'ledger')).toMatchObject({ ok: true });
      expect(doc.checks.find((c: { name: string }) => c.name === 'broker')).toMatchObject({ ok: true });
      expect(doc.checks.find((c: { name: string }) => c.name.startsWith('campaign c'))?.detail).toMatch(/poreloop resume c/);
      expect(r.code).toBe(0);
    } finally {
      await broker.close();
    }
  });

  it('fails with a fix for a corrupt ledger, an unreachable broker and a bad config', async () => {
    const dir = tmp();
    const db = join(dir, 'l.db');
    const l = Ledger.open(db);
    for (let i = 0; i < 300; i++) l.append('c', 'RoundStarted', { round: i }, `r${i}`);
    l.db.pragma('wal_checkpoint(TRUNCATE)');
    l.close();
    const fd = openSync(db, 'r+');
    writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(statSync(db).size / 2 / 4096) * 4096);
    closeSync(fd);
    const cfg = join(dir, 'bad.yaml');
    writeFileSync(cfg, 'name: x\nagent: { name: nope }\n');
    const r = await cli(['doctor', '--db', db, '--broker', 'mqtt://127.0.0.1:1', '--config', cfg, '--wait', '200']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAIL ledger: .*\n\s+fix: restore the file from a backup/);
    expect(r.stdout).toMatch(/FAIL config: /);
    expect(r.stdout).toMatch(/FAIL broker: mqtt:\/\/127\.0\.0\.1:1: .*\n\s+fix: start a broker/);
  });
});
