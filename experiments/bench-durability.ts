/**
 * `npm run bench -- durability [--seeds N] [--train N] [--test N] [--epochs N] [--window CYCLES] [--censored drop|cap]` (issue #20;
 * with `--campaign`: the campaign with early stop against tests run to the end, experiments/durability-campaigns.ts):
 * end of life predicted from the first 10 % of a durability test, on held-out simulated cells.
 *
 * Per seed s (default 20 seeds): a population of cells from the simulated lab's durability
 * truth (robots/sim/durability.ts) — recipes drawn uniformly in [0, 1]², each cell its own
 * hidden SEI rate, porosity, resistance and plating time scale — split into `train` cells that
 * fit the model and `test` cells it never sees. Each cell's early window is the series the
 * durability stage measures in the first 10 % of the planned 2000-cycle test (cycles 10 … 200,
 * capacity and resistance with measurement noise). A training cell's label is only what the
 * planned test reveals, as in a lab: its EOL if it comes within 2000 cycles, else the cell is
 * right-censored — dropped from the fits (`--censored drop`, default) or labelled 2000
 * (`--censored cap`). A test cell's truth is its end of life from the same cell tested to the
 * end (the first *measured* cycle with capacity ≤ 80 %, not the hidden noise-free value),
 * which only the simulation can give. Models, fitted on the same cells in the same run:
 *
 * - `eol-lstm`: src/surrogate/eol.ts (LSTM, Gaussian NLL, σ calibrated on a validation split).
 * - `linear (Severson-style)`: least squares of ln EOL on four hand-made features of the
 *   window (ln capacity fade at 100 and 200 cycles, ln R at 10 cycles, ln R rise 10→200),
 *   the kind of elastic-net feature model of Severson et al. (2019) without the voltage curves.
 * - `median`: the training cells' median EOL for every cell (what one knows without a test;
 *   the median of the capped labels, which is the Kaplan–Meier median under censoring at one time).
 *
 * Metric: median absolute percentage error (MdAPE) of EOL on the test cells, per seed; the
 * table gives the median and quartiles over seeds, the share of seeds meeting ≤ 10 %, and the
 * coverage of the LSTM's μ ± σ and μ ± 2σ. Writes experiments/results/durability.md (+ .json);
 * with `--window N` other than 200 (a sensitivity run) durability-windowN.md; `--censored cap` adds -cap.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Dataset } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { EolSurrogate } from '../src/surrogate/eol.js';
import { commitHash, machineLine } from './provenance.js';
import { runCampaigns } from './durability-campaigns.js';
import { drawCell, earlyWindow, measureSeries, reachedEol, seriesKey, DEFAULT_DURABILITY } from '../robots/sim/durability.js';

interface Cell {
  x: number[];
  /** EOL of the same cell tested to the end (the held-out truth; a lab never has it for a censored cell). */
  eol: number;
  /** What the planned test reveals: EOL if reached within the planned cycles, else censored there. */
  observed: { eol: number; censored: boolean };
  /** Hidden (noise-free) EOL, for the record. */
  trueEol: number;
}

const STEP = DEFAULT_DURABILITY.reportEvery;
/** The early window (cycles; default the first 10 % of the planned test; `--window N` for a sensitivity run). */
let WINDOW = earlyWindow();
let CYCLES: number[] = [];
let INPUTS: string[] = [];
function setWindow(w: number): void {
  WINDOW = w;
  CYCLES = Array.from({ length: WINDOW / STEP }, (_, i) => STEP * (i + 1));
  INPUTS = [...CYCLES.map((c) => seriesKey('capacity', c)), ...CYCLES.map((c) => seriesKey('resistance', c))];
}

/** One population of cells: cell k of population `seed` is the same whoever asks. */
function population(seed: number, n: number, offset: number): Cell[] {
  const rng = createRng(seed).fork('bench-durability');
  const out: Cell[] = [];
  for (let k = 0; k < offset + n; k++) {
    const params = { a: rng.next(), b: rng.next() };
    const cellSeed = rng.int(2 ** 31);
    const noiseSeed = rng.int(2 ** 31);
    if (k < offset) continue;
    const cell = drawCell(params, cellSeed);
    // The same cell tested to the end (far beyond the planned test) gives the measured EOL.
    const full = measureSeries(cell, noiseSeed, { cycles: 100_000 });
    const early = full.slice(0, CYCLES.length);
    const eolPoint = full.find((p) => reachedEol(p)) ?? full.at(-1)!;
    // The planned test is a prefix of the full series (one noise stream per cell): it sees EOL only if it comes by its end.
    const censored = eolPoint.cycle > DEFAULT_DURABILITY.cycles;
    const observed = { eol: censored ? DEFAULT_DURABILITY.cycles : eolPoint.cycle, censored };
    out.push({ x: [...early.map((p) => p.capacity), ...early.map((p) => p.resistance)], eol: eolPoint.cycle, observed, trueEol: cell.eol });
  }
  return out;
}

/** Hand-made features of the window for the linear baseline. */
function features(x: readonly number[]): number[] {
  const T = CYCLES.length;
  const q = (c: number) => x[CYCLES.indexOf(c)];
  const r = (c: number) => x[T + CYCLES.indexOf(c)];
  // Mean of the last three points against noise.
  const qAt = (c: number) => (q(c) + q(c - STEP) + q(c - 2 * STEP)) / 3;
  return [1, Math.log(Math.max(1 - qAt(WINDOW / 2), 1e-4)), Math.log(Math.max(1 - qAt(WINDOW), 1e-4)), Math.log(r(STEP)), Math.log(r(WINDOW) / r(STEP))];
}

/** Ordinary least squares by the normal equations (Gaussian elimination with pivoting). */
function leastSquares(X: number[][], y: number[]): number[] {
  const p = X[0].length;
  const A = Array.from({ length: p }, (_, i) => Array.from({ length: p + 1 }, (_, j) => (j < p ? X.reduce((s, r) => s + r[i] * r[j], 0) : X.reduce((s, r, k) => s + r[i] * y[k], 0))));
  for (let c = 0; c < p; c++) {
    let piv = c;
    for (let r = c + 1; r < p; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    [A[c], A[piv]] = [A[piv], A[c]];
    for (let r = 0; r < p; r++) {
      if (r === c) continue;
      const f = A[r][c] / A[c][c];
      for (let j = c; j <= p; j++) A[r][j] -= f * A[c][j];
    }
  }
  return A.map((row, i) => row[p] / row[i]);
}

const quantile = (v: readonly number[], q: number) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))];
};
const mdape = (pred: readonly number[], truth: readonly number[]) => quantile(pred.map((p, i) => Math.abs(p - truth[i]) / truth[i]), 0.5);

export async function run(args: string[]): Promise<void> {
  commitHash(); // read (and kept) as the run starts: the code it loaded, not a later commit (experiments/provenance.ts)
  // `--campaign`: the campaign path with early stop against tests run to the end (experiments/durability-campaigns.ts).
  if (args.includes('--campaign')) return runCampaigns(args.filter((a) => a !== '--campaign'));
  const opt = (name: string, dflt: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const seeds = opt('seeds', 20);
  const nTrain = opt('train', 800);
  const nTest = opt('test', 200);
  const epochs = opt('epochs', 200);
  const window = opt('window', earlyWindow());
  const ci = args.indexOf('--censored');
  const censoredMode = ci >= 0 ? args[ci + 1] : 'drop';
  if (censoredMode !== 'drop' && censoredMode !== 'cap') throw new Error(`--censored must be drop or cap; got ${censoredMode}`);
  if (!(window >= 3 * STEP && window % STEP === 0)) throw new Error(`--window must be a multiple of ${STEP} cycles, at least ${3 * STEP}; got ${window}`);
  setWindow(window);
  const name = (window === earlyWindow() ? 'durability' : `durability-window${window}`) + (censoredMode === 'drop' ? '' : `-${censoredMode}`);
  const rows: Array<{ seed: number; lstm: number; linear: number; median: number; cover1: number; cover2: number; epochs: number; seconds: number; windowShare: number; censored: number; trainCensored: number }> = [];
  const started = Date.now();
  for (let seed = 1; seed <= seeds; seed++) {
    const train = population(seed, nTrain, 0);
    const test = population(seed, nTest, nTrain);
    // Training labels are what the planned test reveals (a lab has nothing else): cells that outlive it are
    // right-censored — dropped (default) or kept with their label capped at the planned length.
    const labelled = censoredMode === 'drop' ? train.filter((c) => !c.observed.censored) : train;
    const data: Dataset = { inputs: INPUTS, x: labelled.map((c) => c.x), outputs: ['eol'], y: labelled.map((c) => [c.observed.eol]) };
    const t0 = Date.now();
    const model = new EolSurrogate({ epochs, log: () => undefined });
    const fit = await model.fit(data, { seed });
    const pred = await model.predict(test.map((c) => c.x));
    const seconds = (Date.now() - t0) / 1000;
    model.dispose();
    const truth = test.map((c) => c.eol);
    const mu = pred.mean.map((r) => r[0]);
    const sd = pred.std.map((r) => r[0]);
    const within = (k: number) => truth.filter((t, i) => Math.abs(t - mu[i]) <= k * sd[i]).length / truth.length;
    const beta = leastSquares(labelled.map((c) => features(c.x)), labelled.map((c) => Math.log(c.observed.eol)));
    const lin = test.map((c) => Math.exp(features(c.x).reduce((s, f, j) => s + f * beta[j], 0)));
    // All censoring is at one time (the planned length): while fewer than half the cells are censored, the median of
    // the capped labels is the Kaplan–Meier median; beyond that it is only a lower bound.
    const med = quantile(train.map((c) => c.observed.eol), 0.5);
    rows.push({
      seed,
      lstm: mdape(mu, truth),
      linear: mdape(lin, truth),
      median: mdape(test.map(() => med), truth),
      cover1: within(1),
      cover2: within(2),
      epochs: fit.epochs,
      seconds,
      windowShare: quantile(truth.map((t) => WINDOW / t), 0.5),
      censored: truth.filter((t) => t > DEFAULT_DURABILITY.cycles).length / truth.length,
      trainCensored: train.filter((c) => c.observed.censored).length / train.length,
    });
    const r = rows.at(-1)!;
    process.stderr.write(`seed ${seed}: MdAPE lstm ${(100 * r.lstm).toFixed(1)} % · linear ${(100 * r.linear).toFixed(1)} % · median ${(100 * r.median).toFixed(1)} % · ±σ ${(100 * r.cover1).toFixed(0)} % · ${r.epochs} epochs · ${seconds.toFixed(1)} s\n`);
  }
  const commit = commitHash();
  const machine = `${machineLine()} · load average ${loadavg().map((x) => x.toFixed(2)).join(' / ')}`;
  const outDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(outDir, { recursive: true });
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const stat = (k: 'lstm' | 'linear' | 'median' | 'cover1' | 'cover2' | 'seconds' | 'windowShare' | 'censored' | 'trainCensored') => {
    const v = rows.map((r) => r[k]);
    return { median: quantile(v, 0.5), p25: quantile(v, 0.25), p75: quantile(v, 0.75) };
  };
  const line = (name: string, k: 'lstm' | 'linear' | 'median') => {
    const s = stat(k);
    return `| ${name} | ${pct(s.median)} | ${pct(s.p25)} – ${pct(s.p75)} | ${rows.filter((r) => r[k] <= 0.1).length} / ${rows.length} |`;
  };
  const total = (Date.now() - started) / 1000;
  writeFileSync(outDir + `${name}.json`, JSON.stringify({ date: new Date().toISOString(), commit, machine, seeds, nTrain, nTest, epochs, censoredMode, window: WINDOW, plannedCycles: DEFAULT_DURABILITY.cycles, rows }, null, 2) + '\n');
  const c1 = stat('cover1');
  const c2 = stat('cover2');
  const md = [
    `# Durability: end of life from the first ${((100 * WINDOW) / DEFAULT_DURABILITY.cycles).toFixed(0)} % of the test (issue #20)`,
    '',
    `${new Date().toISOString()} · commit ${commit} · ${machine} · \`npm run bench -- durability${args.length ? ' ' + args.join(' ') : ''}\` · ${total.toFixed(0)} s`,
    '',
    `${seeds} seeds; per seed a fresh population of simulated cells (robots/sim/durability.ts: SEI √n fade, pore clogging, plating knee; cell-to-cell`,
    `variability; measurement noise), ${nTrain} cells to train, ${nTest} held-out cells to test. Input: capacity and resistance at cycles ${STEP}, ${2 * STEP}, …, ${WINDOW}`,
    `— the first ${((100 * WINDOW) / DEFAULT_DURABILITY.cycles).toFixed(0)} % of the planned ${DEFAULT_DURABILITY.cycles}-cycle test. Training labels: only what the planned test reveals —`,
    `a median ${pct(stat('trainCensored').median)} of the training cells outlive it (right-censored at ${DEFAULT_DURABILITY.cycles} cycles) and are ${censoredMode === 'drop' ? 'dropped from the LSTM and linear fits' : 'kept with their label capped at the planned length'};`,
    'the median baseline is the median of the capped labels (the Kaplan–Meier median while fewer than half are censored).',
    `Test truth: the first measured cycle with capacity ≤ 80 % of the same cell tested to the end (held out; a median ${pct(stat('censored').median)} of the test cells`,
    `outlive the planned test, and their EOL is only known because the simulation can run on). The window is a median ${pct(stat('windowShare').median)} of a test cell's life.`,
    'MdAPE = median over test cells of |predicted − true| / true.',
    '',
    '| model | MdAPE, median over seeds | quartiles over seeds | seeds with MdAPE ≤ 10 % |',
    '| --- | ---: | --- | ---: |',
    line('eol-lstm (src/surrogate/eol.ts)', 'lstm'),
    line('linear on 4 window features (Severson-style)', 'linear'),
    line('training median (no test)', 'median'),
    '',
    `LSTM σ: μ ± σ covers ${pct(c1.median)} of test cells (quartiles ${pct(c1.p25)} – ${pct(c1.p75)}; nominal 68 %), μ ± 2σ covers ${pct(c2.median)} (${pct(c2.p25)} – ${pct(c2.p75)}; nominal 95 %).`,
    `Fit + predict time per seed: median ${stat('seconds').median.toFixed(1)} s (one core, tfjs wasm backend).`,
    '',
    '| seed | LSTM | linear | median | ±σ cover | epochs | s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.seed} | ${pct(r.lstm)} | ${pct(r.linear)} | ${pct(r.median)} | ${pct(r.cover1)} | ${r.epochs} | ${r.seconds.toFixed(1)} |`),
    '',
  ];
  writeFileSync(outDir + `${name}.md`, md.join('\n'));
  process.stdout.write(md.join('\n'));
}
