/**
 * The hidden truth of the simulated lab's `durability` stage (issue #20): a cycling test of a
 * cell made from the recipe, as a degradation time series — discharge capacity and DC
 * resistance every `reportEvery` cycles — with a knee, cell-to-cell variability and
 * measurement noise, all seeded.
 *
 * Why this law. Capacity-fade trajectories of commercial Li-ion cells are nearly linear (or
 * √n-like) for most of their life and then bend down sharply (the "knee"; Severson et al.,
 * Nature Energy 4 (2019) 383, Fig. 1; Attia et al., J. Electrochem. Soc. 169 (2022) 060517,
 * review of knee mechanisms). One documented mechanism is taken here (Yang et al., J. Power
 * Sources 360 (2017) 28): the SEI grows as √n (diffusion-limited, loss of lithium inventory
 * L_sei = a·√n) and, as it grows, fills the anode's pores (porosity ε falls by γ per unit of
 * capacity lost); once ε reaches a critical value ε_c near the separator, the local
 * electrolyte potential drop makes lithium plate, and plating loses capacity at an
 * accelerating rate — the knee. So
 *
 *   ε(n)     = ε₀ − γ·a·√n
 *   n_knee   = ((ε₀ − ε_c) / (γ·a))²
 *   Q(n)/Q₀  = 1 − a·√n − ((n − n_knee)₊ / τ)²          (plating after the knee)
 *   R(n)/R_b = (ε(n)/ε_ref)^(−1.5)                       (Bruggeman: ionic path ∝ ε^−1.5)
 *
 * and end of life (EOL) is the first cycle where Q/Q₀ ≤ 0.8 (the usual 80 % criterion, as in
 * Severson et al.). What varies from cell to cell (lognormal / normal draws from the cell's
 * seed): the SEI rate a (CV 20 %), the initial porosity ε₀ (CV 2 %: hidden except through
 * the resistance), the resistance of everything else R_b (CV 1.5 %) and the plating time
 * scale τ (CV 10 %, not visible before the knee). What the recipe sets: `lifeFactor(params)`
 * multiplies a — by default from the analytic stand-in's score (truth.ts): a recipe near the
 * stand-in's optimum degrades slower. A composition root may pass its own (e.g. from the twin's
 * tortuosity). So early-life data (n ≤ 10 % of the planned test) reveal a and, through R,
 * most of ε₀, but not τ nor all of ε₀: the end of life is predictable from the first cycles
 * only up to an irreducible error, as in real cells.
 *
 * The constants are chosen so that the population's median EOL (≈ 1500 cycles with the default
 * lifeFactor) and its spread (1st–99th percentile ≈ 550 – 3900 cycles) resemble the LFP/graphite
 * cells of Severson et al. (150 – 2300); about a quarter of the cells outlive a planned test of
 * 2000 cycles (their test ends without EOL, as real tests are cut).
 */
import type { Parameters } from '../../src/core/protocols.js';
import { createRng } from '../../src/core/rng.js';

export interface DurabilitySpec {
  /** Planned length of a full test in cycles (a test ends at EOL or here). Default 2000. */
  cycles: number;
  /** One intermediate measurement every this many cycles. Default 10. */
  reportEvery: number;
  /** Capacity fraction that defines end of life. Default 0.8. */
  eolCapacity: number;
  /** Relative measurement noise of the capacity (default 0.001) and the resistance (default 0.002). */
  capacityNoise: number;
  resistanceNoise: number;
  /** Multiplies the SEI rate a: > 1 ages faster. Default: 1.3 − 0.6·score of the analytic stand-in (∈ [0.7, 1.3]). */
  lifeFactor?: (params: Parameters) => number;
}

export const DEFAULT_DURABILITY: Readonly<Omit<DurabilitySpec, 'lifeFactor'>> = Object.freeze({
  cycles: 2000,
  reportEvery: 10,
  eolCapacity: 0.8,
  capacityNoise: 0.001,
  resistanceNoise: 0.002,
});

/** The hidden state of one cell (what the lab knows and the campaign never sees). */
export interface DurabilityCell {
  /** SEI loss coefficient: Q loses a·√n. */
  a: number;
  eps0: number;
  /** Resistance of everything but the anode's ionic path (mΩ). */
  rBase: number;
  /** Plating time scale (cycles). */
  tau: number;
  nKnee: number;
  /** True end of life, cycles (may exceed the planned test: then the test never sees it). */
  eol: number;
}

const A0 = 0.0032; // SEI coefficient: the median recipe (lifeFactor ≈ 0.8) loses ≈ 8 % to SEI in ≈ 1000 cycles
const EPS_REF = 0.35;
const EPS_CRIT = 0.25;
const GAMMA = 1.25; // porosity lost per unit capacity lost to SEI: the knee comes at ≈ 8 % SEI loss
const R_REF = 20; // mΩ

export function defaultLifeFactor(params: Parameters): number {
  const xs = Object.values(params).filter((v): v is number => typeof v === 'number');
  const score = Math.exp(-xs.reduce((s, x) => s + (x - 0.5) ** 2, 0));
  return 1.3 - 0.6 * score;
}

/** Capacity fraction Q/Q₀ of `cell` after `n` cycles, without noise. */
export function capacityAt(cell: DurabilityCell, n: number): number {
  const over = Math.max(0, n - cell.nKnee) / cell.tau;
  return 1 - cell.a * Math.sqrt(n) - over * over;
}

/** DC resistance (mΩ) of `cell` after `n` cycles, without noise. */
export function resistanceAt(cell: DurabilityCell, n: number): number {
  const eps = Math.max(cell.eps0 - GAMMA * cell.a * Math.sqrt(n), 0.05);
  return cell.rBase * (eps / EPS_REF) ** -1.5;
}

/** Draws a cell of the recipe `params` from `seed` (same seed and recipe, same cell). */
export function drawCell(params: Parameters, seed: number, spec: Partial<Pick<DurabilitySpec, 'lifeFactor' | 'eolCapacity'>> = {}): DurabilityCell {
  const rng = createRng(seed).fork('durability-cell');
  const factor = (spec.lifeFactor ?? defaultLifeFactor)(params);
  if (!(factor > 0) || !Number.isFinite(factor)) throw new Error(`durability: lifeFactor must be a positive number; got ${factor} for ${JSON.stringify(params)}`);
  const a = A0 * factor * Math.exp(0.2 * rng.normal());
  const eps0 = EPS_REF * (1 + 0.02 * rng.normal());
  const rBase = R_REF * (1 + 0.015 * rng.normal());
  const margin = Math.max(eps0 - EPS_CRIT, 0.01);
  const nKnee = (margin / (GAMMA * a)) ** 2;
  const tau = nKnee * Math.exp(0.1 * rng.normal());
  const cell = { a, eps0, rBase, tau, nKnee, eol: 0 };
  cell.eol = endOfLife(cell, spec.eolCapacity ?? DEFAULT_DURABILITY.eolCapacity);
  return cell;
}

/** First (fractional) cycle at which the noise-free capacity reaches `threshold` (bisection: Q decreases in n). */
export function endOfLife(cell: DurabilityCell, threshold: number): number {
  let lo = 0;
  let hi = 1;
  while (capacityAt(cell, hi) > threshold) hi *= 2;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (capacityAt(cell, mid) > threshold) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** One intermediate measurement of a durability test. */
export interface DurabilityPoint {
  cycle: number;
  /** Discharge capacity as a fraction of the initial capacity. */
  capacity: number;
  /** DC resistance, mΩ. */
  resistance: number;
}

/**
 * The end-of-life criterion of a test, on the *measured* (noisy) capacity — what a rig sees —
 * so the series and the test's result agree on where a test ends (the hidden noise-free EOL
 * `cell.eol` may lie a step either side of it).
 */
export function reachedEol(point: DurabilityPoint, spec: Partial<Pick<DurabilitySpec, 'eolCapacity'>> = {}): boolean {
  return point.capacity <= (spec.eolCapacity ?? DEFAULT_DURABILITY.eolCapacity);
}

/**
 * The measured series of `cell` from cycle `reportEvery` up to `until` cycles (default the
 * planned test), stopping after the first point whose measured capacity is at or below EOL
 * (reachedEol), with measurement noise drawn
 * from `noiseSeed` (one stream per cell, so a series cut short is a prefix of the full one).
 */
export function measureSeries(cell: DurabilityCell, noiseSeed: number, spec: Partial<DurabilitySpec> = {}, until?: number): DurabilityPoint[] {
  const s = { ...DEFAULT_DURABILITY, ...spec };
  const rng = createRng(noiseSeed).fork('durability-noise');
  const last = Math.min(until ?? s.cycles, s.cycles);
  const out: DurabilityPoint[] = [];
  for (let n = s.reportEvery; n <= last; n += s.reportEvery) {
    const capacity = capacityAt(cell, n) * (1 + s.capacityNoise * rng.normal());
    const resistance = resistanceAt(cell, n) * (1 + s.resistanceNoise * rng.normal());
    const point = { cycle: n, capacity, resistance };
    out.push(point);
    if (reachedEol(point, s)) break;
  }
  return out;
}

/** Cycles of the early-life window: the first `fraction` (default 10 %) of the planned test. */
export function earlyWindow(spec: Partial<DurabilitySpec> = {}, fraction = 0.1): number {
  const s = { ...DEFAULT_DURABILITY, ...spec };
  return Math.floor((fraction * s.cycles) / s.reportEvery) * s.reportEvery;
}

/** Names of the early-window series in a durability result: `capacity_<cycle>`, `resistance_<cycle>`. */
export const seriesKey = (what: 'capacity' | 'resistance', cycle: number) => `${what}_${cycle}`;

export interface DurabilityRun {
  /** Waits `ms` of lab time (aborts with `signal`). */
  sleep(ms: number): Promise<void>;
  /** Publishes an intermediate measurement (a `progress` event with measurements). */
  report(fraction: number, note: string, measurements: Record<string, number>): Promise<void>;
  /** Aborted by a `stop` admin command: end now and return what was measured. */
  stop?: AbortSignal;
  /** Lab time one full planned test takes (ms). */
  durationMs: number;
  /** End the test after this many cycles (the job's `stopAtCycle` input), like a stop. */
  stopAtCycle?: number;
}

/**
 * Runs the durability test of `cell` as a rig would: one intermediate measurement every
 * `reportEvery` cycles, until EOL, the planned length, `stopAtCycle` or a stop command. The
 * result names what was measured (docs/rig-protocol.md, "Intermediate measurements and early
 * stop"): `cycles`, last `capacity` and `resistance`, `eolReached` (1/0), `eol` (cycles, when
 * reached), `stoppedEarly` (1/0) and the early-life window's series (`capacity_<cycle>`,
 * `resistance_<cycle>` for cycles ≤ 10 % of the planned test), which an early-life predictor
 * needs and which fits a result message (≤ 256 measurements).
 */
export async function runDurabilityTest(cell: DurabilityCell, noiseSeed: number, spec: Partial<DurabilitySpec>, run: DurabilityRun): Promise<Record<string, number>> {
  const s = { ...DEFAULT_DURABILITY, ...spec };
  const series = measureSeries(cell, noiseSeed, s);
  const window = earlyWindow(s);
  const out: Record<string, number> = { cycles: 0, stoppedEarly: 0, eolReached: 0 };
  const stepMs = (run.durationMs * s.reportEvery) / s.cycles;
  for (const p of series) {
    if (run.stop?.aborted || (run.stopAtCycle !== undefined && p.cycle > run.stopAtCycle)) {
      out.stoppedEarly = 1;
      break;
    }
    if (stepMs > 0) await run.sleep(stepMs);
    if (run.stop?.aborted) {
      out.stoppedEarly = 1;
      break;
    }
    Object.assign(out, { cycles: p.cycle, capacity: p.capacity, resistance: p.resistance });
    if (p.cycle <= window) Object.assign(out, { [seriesKey('capacity', p.cycle)]: p.capacity, [seriesKey('resistance', p.cycle)]: p.resistance });
    await run.report(p.cycle / s.cycles, `cycle ${p.cycle}`, { cycle: p.cycle, capacity: p.capacity, resistance: p.resistance });
    if (reachedEol(p, s)) {
      Object.assign(out, { eolReached: 1, eol: p.cycle });
      break;
    }
  }
  return out;
}

/**
 * Training data for an early-life model (src/surrogate/eol.ts) from `n` simulated cells of
 * random recipes (`dims` parameters named x0, x1, … uniform in [0, 1]), seeded: the early
 * window's series as inputs (`capacity_<cycle>`, `resistance_<cycle>`) and, as the label, only
 * what the planned test reveals — the measured EOL; cells that outlive the test are
 * right-censored and left out (as experiments/bench-durability.ts `--censored drop`). What a
 * lab would have from earlier full-length tests of its cells.
 */
export function simulatedEolDataset(seed: number, n: number, spec: Partial<DurabilitySpec> = {}, dims = 2): { inputs: string[]; x: number[][]; outputs: string[]; y: number[][] } {
  const s = { ...DEFAULT_DURABILITY, ...spec };
  const window = earlyWindow(s);
  const cycles = Array.from({ length: window / s.reportEvery }, (_, i) => s.reportEvery * (i + 1));
  const inputs = [...cycles.map((c) => seriesKey('capacity', c)), ...cycles.map((c) => seriesKey('resistance', c))];
  const rng = createRng(seed).fork('eol-training-cells');
  const x: number[][] = [];
  const y: number[][] = [];
  for (let k = 0; k < n; k++) {
    const params = Object.fromEntries(Array.from({ length: dims }, (_, i) => [`x${i}`, rng.next()]));
    const cell = drawCell(params, rng.int(2 ** 31), s);
    const series = measureSeries(cell, rng.int(2 ** 31), s);
    const last = series.at(-1)!;
    if (!reachedEol(last, s) || series.length < cycles.length) continue;
    x.push([...series.slice(0, cycles.length).map((p) => p.capacity), ...series.slice(0, cycles.length).map((p) => p.resistance)]);
    y.push([last.cycle]);
  }
  return { inputs, x, outputs: ['eol'], y };
}
