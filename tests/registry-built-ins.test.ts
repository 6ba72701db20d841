import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Agent, Twin } from '../src/core/protocols.js';

/**
 * Review 2026-12-07: twins/async.ts and src/compose/off-thread-agent.ts each took their
 * "built-in" factories as a copy of the mutable registry when they loaded, so a caller that
 * changed the registry before one of them loaded made its own plugin count as the built-in: the
 * worker, whose registry holds the real built-ins, would run those instead. The built-ins are
 * frozen maps of the plugin packages (twins/index.ts, agents/index.ts). Each test loads fresh
 * module instances, changes the registry, and only then loads the module that checks.
 */
afterEach(() => {
  vi.resetModules();
});

describe('built-in plugins are known by the frozen maps, not a copy of the registry at module load', () => {
  it('a twin registered under a built-in name before twins/async.ts loads is not the built-in', async () => {
    vi.resetModules();
    const { twinRegistry, BUILT_IN_TWINS } = await import('../twins/index.js');
    const mine = (): Twin => ({ ...BUILT_IN_TWINS['fibre-gdl'](), name: 'mine' });
    twinRegistry['fibre-gdl'] = mine;
    const { isBuiltInTwin } = await import('../twins/async.js');
    expect(isBuiltInTwin('fibre-gdl')).toBe(false);
    expect(isBuiltInTwin('sofc-anode')).toBe(true);
    expect(Object.isFrozen(BUILT_IN_TWINS)).toBe(true);
  });

  it('an agent registered under a built-in name before off-thread-agent.ts loads proposes inline', async () => {
    vi.resetModules();
    const { agentRegistry, BUILT_IN_AGENTS } = await import('../agents/index.js');
    const mine: Agent = { name: 'mine', propose: async () => [], learn: async () => {}, snapshot: () => ({}), restore: () => {} };
    agentRegistry.random = () => mine;
    const { offThread } = await import('../src/compose/off-thread-agent.js');
    const wrapped = offThread(mine, { name: 'random', options: {} });
    // Not rebuilt in the worker (its registry has the built-in random): returned unchanged.
    expect(wrapped.agent).toBe(mine);
    await wrapped.close();
    expect(Object.isFrozen(BUILT_IN_AGENTS)).toBe(true);
  });
});
