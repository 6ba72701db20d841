import { readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { Observable } from 'rxjs';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as lib from '../src/index.js';

describe('the package entry (import … from "poreloop")', () => {
  it('resolves through package.json exports to the built library', async () => {
    const m = await import('poreloop');
    const exported = m as Record<string, unknown>;
    for (const name of ['runCampaign', 'resumeCampaign', 'loadCampaign', 'Ledger', 'simulate', 'createRig', 'createSimulatedLab', 'compileReward', 'readVolume']) {
      expect(typeof exported[name], name).toBe('function');
    }
    for (const name of ['twinRegistry', 'agentRegistry', 'campaignSchema', 'space']) expect(typeof exported[name], name).toBe('object');
    expect(Object.keys(m.twinRegistry)).toContain('fibre-gdl');
    expect(Object.keys(m.agentRegistry)).toContain('gp-bo');
  });

  // Checked by the type check (npm test runs it beside vitest): a type a caller gets back from
  // the library must be one it can name (library review: these were not exported).
  it('exports the types of what its functions take and return', () => {
    expectTypeOf<ReturnType<typeof lib.createDispatcher>>().toEqualTypeOf<lib.Dispatcher>();
    expectTypeOf<Awaited<ReturnType<typeof lib.startEmbeddedBroker>>>().toEqualTypeOf<lib.EmbeddedBroker>();
    expectTypeOf<Awaited<ReturnType<typeof lib.connectMqtt>>>().toEqualTypeOf<lib.MqttTransport>();
    expectTypeOf<lib.MqttTransport['events']>().toEqualTypeOf<Observable<lib.ConnectionEvent>>();
    expectTypeOf<lib.CreateRigOptions['handle']>().toEqualTypeOf<lib.RigHandler>();
    expectTypeOf<ReturnType<typeof lib.exportCampaign>>().toEqualTypeOf<lib.ExportDocument>();
    expectTypeOf<NonNullable<lib.CampaignSummary['best']>>().toEqualTypeOf<lib.TrialSummary>();
    expectTypeOf<(typeof lib.agentRegistry)[string]>().toEqualTypeOf<lib.AgentFactory>();
  });

  it('depends on the type packages its declarations use (a strict consumer type-checks them)', () => {
    // Ledger.db is a better-sqlite3 Database: its types must install with poreloop, not only
    // in poreloop's own development (library review: TS7016 with skipLibCheck off).
    expectTypeOf<lib.Ledger['db']>().toEqualTypeOf<Database.Database>();
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
    expect(pkg.dependencies['@types/better-sqlite3']).toBeDefined();
    expect(pkg.devDependencies['@types/better-sqlite3']).toBeUndefined();
    // The lock agrees (npm ci refuses a lock out of step with package.json).
    expect(lock.packages[''].dependencies['@types/better-sqlite3']).toBe(pkg.dependencies['@types/better-sqlite3']);
    expect(lock.packages['node_modules/@types/better-sqlite3'].dev).toBeUndefined();
  });
});
