import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { campaignMachine } from './campaign.machine.js';

/**
 * Issue #16: an objectives campaign's runtime says whether a round improved the campaign (a gain
 * in dominated hypervolume of the measured front); `stop.noImprovementRounds` counts rounds
 * without, whatever the scalar best reward does. Fake actors: the machine's transitions alone.
 */
function run(rounds: { bestReward: number; improved?: boolean }[], noImprovementRounds: number) {
  let i = 0;
  const p = <O>(out: () => O) => fromPromise<O, unknown>(async () => out());
  const actors = {
    propose: p(() => ({ proposed: 2 })),
    score: p(() => ({ scored: 2 })),
    select: p(() => ({ selected: 2 })),
    requestApproval: p(() => ({ decided: null })),
    dispatch: p(() => ({ dispatched: 2 })),
    awaitRigs: p(() => ({ done: 2 })),
    assimilate: p(() => ({ completed: 2, failed: 0, now: 0, ...rounds[Math.min(i++, rounds.length - 1)] })),
    finish: p(() => undefined),
  };
  const actor = createActor(campaignMachine.provide({ actors: actors as never }), { input: { campaignId: 'c1', limits: { rigRuns: 100, failures: 10, approval: false, noImprovementRounds }, startedAt: 0 } });
  actor.start();
  return toPromise(actor).then(() => actor.getSnapshot());
}

describe('campaign machine: improvement as the runtime reports it', () => {
  it('counts rounds without a hypervolume gain even while the best scalar reward grows', async () => {
    const s = await run([{ bestReward: 1, improved: true }, { bestReward: 2, improved: false }, { bestReward: 3, improved: false }], 2);
    expect(s.context.stopReason).toBe('no improvement');
    expect(s.context.round).toBe(3);
    expect(s.context.bestReward).toBe(3); // still tracked for stop.targetReward
  });

  it('a hypervolume gain resets the count though the best scalar reward does not grow', async () => {
    const s = await run([{ bestReward: 5, improved: true }, { bestReward: 5, improved: true }, { bestReward: 5, improved: true }, { bestReward: 5, improved: false }], 1);
    expect(s.context.round).toBe(4);
  });
});
