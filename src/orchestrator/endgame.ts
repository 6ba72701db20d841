/**
 * End-game dispatch (issue #21, docs/async.md "End game"): which rig the next of the last rig
 * runs of a campaign should go to, when there are no more runs left than rigs.
 *
 * Mid-campaign a freed rig should take the next run at once: more runs follow, and an idle rig
 * is lost time. At the end there are only `runs` left; a slow rig that frees up need not take one
 * of them if a faster rig is expected to free up and still finish it sooner, and the campaign
 * ends when its last run ends. The runs are alike (the same capability; which recipe is which
 * does not change their duration), the rigs differ in speed: uniform parallel machines with
 * identical jobs and machine availability times (Q|p_j = p, r_i|C_max). For that problem list
 * scheduling by earliest completion time — each run in turn to the rig on which it would finish
 * first (Graham 1969 list scheduling; the ECT rule of Gonzalez, Ibarra & Sahni 1977 for uniform
 * processors) — gives the minimum makespan when durations are known (Dessouky, Lageweg, Lenstra &
 * van de Velde 1990, Statistica Neerlandica 44: identical jobs on uniform machines). Here the
 * durations are expected values estimated from the ledger, so "minimum" is of the expected
 * finish under those estimates — and ECT picks the rig whose estimate is lowest, which is
 * biased low when estimates are noisy (a rig with two lucky runs looks fast). A run is
 * therefore held for a busy rig only when its expected finish there beats the best free rig's
 * by more than `z` standard errors of the difference of the two estimates (default 2, chosen
 * on a toy model of the bench's fleet, experiments/results/scale-dev/endgame-toy.py).
 *
 * Measured (issue #21, experiments/results/scale.md, docs/async.md "End game"): it shortens
 * synchronous campaigns a little (a round's own batch is its end game) but not asynchronous
 * ones — with 1–3 runs per rig behind the estimates a 60-run async campaign took 6–8 % longer,
 * as the toy had predicted for any margin; hence off by default (config loop.endGame).
 *
 * The plan is made afresh at every dispatch from the ledger and the rig registry (nothing of
 * it is stored), so a resumed campaign plans exactly as well.
 */

/** A rig as the plan sees it: when it is expected to be free (ms, the campaign's clock) and its expected run duration. */
export interface PlannedRig {
  rigId: string;
  freeAt: number;
  meanMs: number;
  /** Standard error of meanMs (0: known exactly). */
  sdMs: number;
}

export interface EndGameChoice {
  rigId: string;
  /** When the run is expected to start on that rig: later than `now` means the run is held for it. */
  startsAt: number;
  /** Expected completion of the run on that rig. */
  endsAt: number;
}

/**
 * The rig for the next of `runs` remaining runs at time `now`: the ECT plan of all of them is
 * built (each run to the rig where it would end first; ties: the rig free sooner, then the rig
 * id), and the run goes to the planned run that starts first (ties: the one the plan placed
 * first). A rig free now is therefore passed over only when the plan gives it none of the
 * remaining runs, i.e. when every one of them is expected to end sooner on another rig; and
 * even then the run is held only when its expected finish on the planned rig beats the fastest
 * free rig's by more than `z` standard errors (else it goes to that free rig now). So a run is
 * never held unless holding shortens its expected finish. `rigs` in any order (sorted by id
 * here, so the choice does not depend on registry order).
 */
export function endGameRig(rigs: readonly PlannedRig[], runs: number, now: number, z = 2): EndGameChoice | undefined {
  if (rigs.length === 0 || !(runs >= 1)) return undefined;
  for (const r of rigs) {
    if (!(Number.isFinite(r.freeAt) && Number.isFinite(r.meanMs) && r.meanMs > 0 && Number.isFinite(r.sdMs) && r.sdMs >= 0)) {
      throw new Error(`endGameRig: rig ${r.rigId} needs a finite freeAt, a positive finite meanMs and a finite sdMs ≥ 0 (got ${r.freeAt}, ${r.meanMs}, ${r.sdMs})`);
    }
  }
  if (!(Number.isFinite(now) && Number.isFinite(z) && z >= 0)) throw new Error(`endGameRig: now and z must be finite, z ≥ 0 (got ${now}, ${z})`);
  const sorted = [...rigs].sort((a, b) => (a.rigId < b.rigId ? -1 : a.rigId > b.rigId ? 1 : 0));
  const at = sorted.map((r) => r.freeAt);
  let first: EndGameChoice | undefined;
  for (let n = 0; n < runs; n++) {
    let best = 0;
    for (let i = 1; i < sorted.length; i++) {
      const c = at[i] + sorted[i].meanMs;
      const cb = at[best] + sorted[best].meanMs;
      if (c < cb || (c === cb && at[i] < at[best])) best = i;
    }
    if (!first || at[best] < first.startsAt) first = { rigId: sorted[best].rigId, startsAt: at[best], endsAt: at[best] + sorted[best].meanMs };
    at[best] += sorted[best].meanMs;
  }
  if (!first || first.startsAt <= now) return first;
  const free = sorted.filter((r) => r.freeAt <= now);
  if (free.length === 0) return first;
  const fastest = free.reduce((a, b) => (b.meanMs < a.meanMs ? b : a));
  const held = sorted.find((r) => r.rigId === first!.rigId)!;
  const gain = now + fastest.meanMs - first.endsAt;
  return gain > z * Math.hypot(held.sdMs, fastest.sdMs) ? first : { rigId: fastest.rigId, startsAt: now, endsAt: now + fastest.meanMs };
}

/**
 * Each rig's expected run duration from its completed runs (ms, JobSent → result), shrunk
 * toward the fleet's mean by one pseudo-run (a rig with one lucky run is not taken for the
 * fastest; a rig with no history gets the fleet's mean, the prior), and its standard error:
 * the pooled within-rig standard deviation of one run over √(runs + 1). Without a rig of two
 * or more runs the spread is unknown: undefined (no plan).
 */
export function rigEstimates(byRig: ReadonlyMap<string, readonly number[]>): { fleetMean: number; estimate: (own: readonly number[]) => { meanMs: number; sdMs: number } } | undefined {
  const all = [...byRig.values()].flat();
  let ss = 0;
  let dof = 0;
  for (const xs of byRig.values()) {
    if (xs.length < 2) continue;
    const m = xs.reduce((s, x) => s + x, 0) / xs.length;
    ss += xs.reduce((s, x) => s + (x - m) ** 2, 0);
    dof += xs.length - 1;
  }
  if (all.length === 0 || dof === 0) return undefined;
  const fleetMean = all.reduce((s, x) => s + x, 0) / all.length;
  const within = Math.sqrt(ss / dof);
  return {
    fleetMean,
    estimate: (own) => ({ meanMs: (own.reduce((s, x) => s + x, 0) + fleetMean) / (own.length + 1), sdMs: within / Math.sqrt(own.length + 1) }),
  };
}
