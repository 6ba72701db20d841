import type { Clock } from './protocols.js';

/**
 * A clock that only moves when a test moves it (issue #15: "time is injected where it
 * matters"). Modelled on xstate's `SimulatedClock`: `now()`, `setTimeout`, `clearTimeout`,
 * `advance(ms)`; it also implements `Clock.sleep`, which is how the dispatcher, the rig SDK
 * and the simulated lab wait, so a test drives their timeouts, heartbeats and retries in
 * milliseconds of wall time and in the same order on every run.
 *
 * `advance` fires due timers one at a time in time order (ties in scheduling order) and,
 * after each, lets the event loop settle (a macrotask turn drains every queued microtask,
 * e.g. the in-memory broker's deliveries and the `await`s they wake), so work a timer starts
 * runs before the next timer fires — as it would on a real clock with idle CPUs.
 */
export interface FakeClock extends Clock {
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: number | undefined): void;
  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): Promise<void>;
  /**
   * Advances in `stepMs` steps until `done()` holds; throws after `limitMs` of simulated time
   * (a bound in clock time, so it does not depend on how fast the machine is).
   */
  advanceUntil(done: () => boolean, what: string, opts?: { stepMs?: number; limitMs?: number }): Promise<void>;
  /** Timers waiting to fire. */
  pending(): number;
  /** When the next timer falls due (undefined: none waits) — a driver can stop time at every event (issue #21). */
  nextAt(): number | undefined;
}

/** Wall-clock start of every fake clock: a fixed instant, so ISO timestamps repeat run to run. */
export const FAKE_EPOCH = Date.parse('2026-01-01T00:00:00.000Z');

/** One macrotask turn: Node drains all microtasks (and those they queue) before it. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createFakeClock(start = FAKE_EPOCH): FakeClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();

  const due = (limit: number): [number, { at: number; fn: () => void }] | undefined => {
    let best: [number, { at: number; fn: () => void }] | undefined;
    // Map iteration is insertion order, so `<` keeps the earlier-scheduled timer on ties.
    for (const e of timers) if (e[1].at <= limit && (!best || e[1].at < best[1].at)) best = e;
    return best;
  };

  const clock: FakeClock = {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(handle) {
      if (handle !== undefined) timers.delete(handle);
    },
    sleep(ms, signal) {
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const onAbort = () => {
          clock.clearTimeout(id);
          reject(signal!.reason);
        };
        const id = clock.setTimeout(() => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async advance(ms) {
      if (!(ms >= 0)) throw new RangeError(`advance(ms): ms must be ≥ 0, got ${ms}`);
      const target = now + ms;
      await settle();
      for (let next = due(target); next; next = due(target)) {
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
        await settle();
      }
      now = target;
      await settle();
    },
    async advanceUntil(done, what, { stepMs = 10, limitMs = 600_000 } = {}) {
      const until = now + limitMs;
      await settle();
      while (!done()) {
        if (now >= until) throw new Error(`fake clock: ${what} did not happen within ${limitMs} ms of simulated time`);
        await clock.advance(stepMs);
      }
    },
    pending: () => timers.size,
    nextAt: () => due(Infinity)?.[1].at,
  };
  return clock;
}
