import { describe, expect, it } from 'vitest';
import { createFakeClock, FAKE_EPOCH } from './fake-clock.js';

describe('fake clock', () => {
  it('starts at a fixed epoch and moves only when advanced', async () => {
    const c = createFakeClock();
    expect(c.now()).toBe(FAKE_EPOCH);
    await new Promise((r) => setTimeout(r, 5));
    expect(c.now()).toBe(FAKE_EPOCH);
    await c.advance(250);
    expect(c.now()).toBe(FAKE_EPOCH + 250);
  });

  it('fires timers in time order, ties in scheduling order, each at its own time', async () => {
    const c = createFakeClock(0);
    const fired: Array<[string, number]> = [];
    c.setTimeout(() => fired.push(['b', c.now()]), 20);
    c.setTimeout(() => fired.push(['a', c.now()]), 10);
    c.setTimeout(() => fired.push(['c', c.now()]), 20);
    const gone = c.setTimeout(() => fired.push(['x', c.now()]), 5);
    c.clearTimeout(gone);
    await c.advance(15);
    expect(fired).toEqual([['a', 10]]);
    await c.advance(100);
    expect(fired).toEqual([['a', 10], ['b', 20], ['c', 20]]);
    expect(c.pending()).toBe(0);
  });

  it('runs the work a timer wakes before the next timer fires (sleep loops see every tick)', async () => {
    const c = createFakeClock(0);
    const ticks: number[] = [];
    const stop = new AbortController();
    const loop = (async () => {
      for (;;) {
        await c.sleep(10, stop.signal);
        ticks.push(c.now());
      }
    })().catch(() => 'stopped');
    await c.advance(35);
    expect(ticks).toEqual([10, 20, 30]);
    stop.abort('done');
    expect(await loop).toBe('stopped');
    expect(c.pending()).toBe(0);
  });

  it('advanceUntil stops when the condition holds and fails after its simulated-time limit', async () => {
    const c = createFakeClock(0);
    let flag = false;
    c.setTimeout(() => (flag = true), 42);
    await c.advanceUntil(() => flag, 'flag', { stepMs: 5 });
    expect(c.now()).toBe(45);
    await expect(c.advanceUntil(() => false, 'never', { limitMs: 100 })).rejects.toThrow(/never did not happen within 100 ms of simulated time/);
    await expect(c.advance(-1)).rejects.toThrow(RangeError);
  });
});
