import { describe, expect, it } from 'vitest';

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
});
