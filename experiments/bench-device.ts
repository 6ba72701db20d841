/**
 * Issue #20: the device models against their references, with run time per evaluation.
 * Run: nice -n 10 npm run bench -- device [--skip-campaigns]   → experiments/results/device.md (+ .json, SVG plots)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { loadCampaign, runCampaign } from '../src/compose/campaign.js';
import { FARADAY, GAS_CONSTANT } from '../src/physics/device.js';
import { dfnDischarge, ecker2015, ECKER_1C } from '../src/physics/device/dfn.js';
import { PEMFC_DEFAULTS, pemfcLimitingCurrent, pemfcPoint, type PemfcInput } from '../src/physics/device/pemfc.js';
import { compareEckerDischarge, comparePolarisation, eh31Input, readReference } from '../src/physics/device/reference.js';
import { renderSvg } from '../src/report/render.js';
import { agedAnode, nickelConductivity, sofcAnodeLoss, yszConductivity } from '../src/physics/device/sofc.js';
import { commitHash } from './provenance.js';

const timed = <T>(f: () => T): [T, number] => {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
};

export async function run(args: string[] = []): Promise<void> {
  const out: string[] = [];
  const json: Record<string, unknown> = {};
  const commit = commitHash();
  out.push('# Device models (issue #20)', '', `Command: \`nice -n 10 npm run bench -- device\`; commit ${commit}; ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length} (shared machine, timings are upper bounds); ${new Date().toISOString()}.`, '');

  // ── Li-ion DFN vs Ecker 2015 measured 1C and 5C ────────────────────────────────────────
  const rows: string[] = [];
  const dfnJson: unknown[] = [];
  const refs: Record<number, number[][]> = { 1: readReference('ecker2015-1C'), 5: readReference('ecker2015-5C') };
  const curve: Array<{ q: number; v: number; series: string }> = [];
  for (const [c, d] of Object.entries(refs)) for (const [q, v] of d) curve.push({ q: q / 7.5, v, series: `${c}C measured (Ecker 2015)` });
  for (const fit of ['ecker2015', 'okane2020'] as const)
    for (const c of [0.1, 0.5, 1, 2, 5]) {
      if (fit === 'okane2020' && c !== 1) continue;
      const [r, ms] = timed(() => dfnDischarge(ecker2015(fit), ECKER_1C * c, (1.5 * 3600) / c));
      const q = (r.capacityToCutoff * 0.101 * 0.085) / 0.15625;
      const cmp = refs[c] ? compareEckerDischarge(r, refs[c]) : null;
      if (refs[c]) r.capacity.forEach((x, k) => curve.push({ q: (x * 0.101 * 0.085) / 0.15625, v: r.voltage[k], series: `${c}C DFN (${fit})` }));
      const mean = cmp ? cmp.errors.reduce((s, e) => s + e, 0) / cmp.errors.length : NaN;
      rows.push(
        `| ${fit} | ${c} | ${q.toFixed(3)} | ${cmp ? cmp.dataCapacity.toFixed(3) : '—'} | ${r.reachedCutoff} | ${r.time.length} | ${r.residualEvaluations} | ${ms.toFixed(0)} | ${cmp ? (cmp.rmse * 1000).toFixed(0) : '—'} | ${cmp ? (mean * 1000).toFixed(0) : '—'} |`,
      );
      dfnJson.push({ fit, cRate: c, capacityNorm: q, ms, steps: r.time.length, evals: r.residualEvaluations, rmseV: cmp?.rmse ?? null, meanErrV: cmp ? mean : null, dataCapacity: cmp?.dataCapacity ?? null });
    }
  json.dfn = dfnJson;
  const plot = (values: unknown[], x: string, y: string, xTitle: string, yTitle: string) =>
    renderSvg({
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: 520,
      height: 300,
      data: { values },
      mark: { type: 'line', point: { size: 12 } },
      encoding: { x: { field: x, type: 'quantitative', title: xTitle }, y: { field: y, type: 'quantitative', title: yTitle, scale: { zero: false } }, color: { field: 'series', type: 'nominal' } },
    });
  writeFileSync(new URL('results/device-dfn.svg', import.meta.url), await plot(curve, 'q', 'v', 'discharged capacity / nominal', 'cell voltage (V)'));
  out.push(
    '## Li-ion DFN (Doyle–Fuller–Newman), Ecker et al. 2015 parameter set',
    '',
    "Reference: measured 1C and 5C discharges of the Kokam SLPB 75106100 cell, Ecker et al., J. Electrochem. Soc. 162 (2015) A1849, digitised points as shipped with PyBaMM (`src/physics/device/reference/ecker2015-*.csv`). Capacities normalised by the nominal capacity (7.5 Ah cell; 0.15625 Ah for the parameter set's area). Isothermal 25 °C. Grid 10 | 5 | 10 cells, 10 shells, ≈100 steps per discharge. `fit` is the graphite diffusivity: `ecker2015` the exponential fit of PyBaMM's first Ecker set (default), `okane2020` the log-Gaussian refit of its current set.",
    '',
    '| fit | C-rate | capacity / nominal | measured | reached 2.5 V | steps | residual evals | ms per discharge | RMSE vs data (mV) | mean error (mV) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '![DFN vs Ecker 2015 data](device-dfn.svg)',
    '',
    'At 1C the default fit follows the measured curve (RMSE in the table; the test asserts < 40 mV and capacity within 2 %); with the refit the model runs about 0.1 V low, so the default is the first fit — a choice between two published fits made on this comparison, stated here. At 5C the measured cell warms by several kelvin, which the isothermal model does not follow; the 5C row shows that gap. The single-particle zero-rate limit is a test (C/20 within 15 mV of U_p(x̄_p) − U_n(x̄_n)).',
    '',
  );

  // ── PEMFC polarisation ─────────────────────────────────────────────────────────────────
  const gdl: PemfcInput = { ...PEMFC_DEFAULTS, dRel: 0.3, porosity: 0.75, thickness: 200e-6, permeability: 8e-12, contactAngleDeg: 110, temperatureK: 353.15, pressurePa: 150_000, oxygenFraction: 0.21 };
  const prow: string[] = [];
  const pol: Array<{ i: number; v: number; series: string }> = [];
  for (const theta of [80, 100, 110, 120]) {
    const p = { ...gdl, contactAngleDeg: theta };
    const [il, msL] = timed(() => pemfcLimitingCurrent(p));
    const [pts, msP] = timed(() => [0.5e4, 1e4, 1.5e4, 2e4].map((i) => pemfcPoint(p, i)));
    for (let i = 0.02e4; i < il; i += il / 60) pol.push({ i: i / 1e4, v: pemfcPoint(p, i).voltage, series: `θ = ${theta}°` });
    prow.push(`| ${theta} | ${(il / 1e4).toFixed(2)} | ${pts.map((x) => `${x.voltage.toFixed(3)} (s ${x.sCl.toFixed(2)})`).join(' | ')} | ${msL.toFixed(0)} | ${(msP / 4).toFixed(1)} |`);
  }
  out.push(
    '## PEMFC 1D (GDL with liquid water + CL + Springer membrane)',
    '',
    'GDL: D_eff/D0 0.3, ε 0.75, 200 µm, K 8e-12 m²; 80 °C, 1.5 bar, air, both gases saturated; Nafion 211; Neyerlin 2006 ORR kinetics. Voltage (and CL saturation) at 0.5 / 1.0 / 1.5 / 2.0 A/cm²:',
    '',
    '| contact angle (°) | i_lim wet (A/cm²) | 0.5 | 1.0 | 1.5 | 2.0 | ms per i_lim | ms per point |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...prow,
    '',
    '![PEMFC polarisation curves](device-pemfc.svg)',
    '',
    'Not done: a comparison with a published 1D model result (Pasaogullari & Wang 2004, Springer 1991) — the papers are not reachable from this workplace. Checked in tests: the closed-form saturation profile of the Leverett model, Springer\'s conductivity, the Tafel slope, the dry-limit bound. Against measured data: below.',
    '',
  );

  // EH-31 measured curve: kinetics + contact resistance fitted at ≤ 0.5 A/cm², the rest predicted.
  const [eh, msEh] = timed(() => comparePolarisation(eh31Input(), readReference('eh31-1.5bar'), 5000));
  for (const p of eh.points) {
    pol.push({ i: p.current / 1e4, v: p.measured, series: 'EH-31 measured' });
    pol.push({ i: p.current / 1e4, v: p.model, series: 'EH-31 model (fit ≤ 0.5 A/cm²)' });
  }
  json.eh31 = { i0: eh.i0, contactResistance: eh.contactResistance, rmseCalibration: eh.rmseCalibration, rmsePrediction: eh.rmsePrediction, maxErrorPrediction: eh.maxErrorPrediction, ms: msEh };
  out.push(
    '### Against a measured polarisation curve (EH-31, 1.5 bar)',
    '',
    "Data: EH-31 cell at 74 °C, 1.5 bar, RH 0.4/0.6, as distributed with AlphaPEM (`src/physics/device/reference/eh31-1.5bar.csv`, source in its header). The cell's structure is not published with it: GDL 200 µm, ε 0.79 and a 15 µm membrane are AlphaPEM's estimates; D_eff/D0 = ε^1.5, Kozeny K for 7 µm fibres and θ = 110° are assumptions. Protocol: the ORR exchange current and a contact resistance are fitted on the 11 points at ≤ 0.5 A/cm²; the 26 points above are predicted.",
    '',
    `Fitted: i0 = ${eh.i0.toExponential(2)} A/m² (at 1 atm O2), contact ${(eh.contactResistance * 1e4).toFixed(3)} Ω·cm²; RMSE ${(eh.rmseCalibration * 1000).toFixed(0)} mV on the fitted points; **predicted points: RMSE ${(eh.rmsePrediction * 1000).toFixed(0)} mV, max ${(eh.maxErrorPrediction * 1000).toFixed(0)} mV** (model below the data, the gap growing with current) — the model's high-current losses are too steep for this cell. Candidates: the fixed Tafel slope (α_c = 1) pushes the low-current fit to a small i0, and the Springer membrane dries at the RH 0.4 anode; not resolved. ${msEh.toFixed(0)} ms for the fit and 37 points.`,
    '',
  );
  writeFileSync(new URL('results/device-pemfc.svg', import.meta.url), await plot(pol, 'i', 'v', 'current density (A/cm²)', 'cell voltage (V)'));

  // ── SOFC anode ─────────────────────────────────────────────────────────────────────────
  const T = 1073.15;
  const an = { tpbDensity: 5e12, sigmaIonic: 0.2 * yszConductivity(T), sigmaElectronic: 0.2 * nickelConductivity(T), thickness: 20e-6, temperatureK: T, i0Tpb: 1e-3, alphaA: 0.5, alphaC: 0.5 };
  const rct = (GAS_CONSTANT * T) / (FARADAY * an.i0Tpb * an.tpbDensity);
  const asrAnalytic = Math.sqrt(rct / an.sigmaIonic) / Math.tanh(an.thickness / Math.sqrt(rct * an.sigmaIonic));
  const [lin, msLin] = timed(() => sofcAnodeLoss({ ...an, sigmaElectronic: 1e9 }, 1));
  const srow: string[] = [];
  for (const h of [0, 100, 1000, 5000, 10000]) {
    const a = agedAnode(an, h, 0.45);
    const [r, ms] = timed(() => sofcAnodeLoss(a, 5000));
    srow.push(`| ${h} | ${(a.tpbDensity / 1e12).toFixed(2)} | ${(a.sigmaElectronic / 1e3).toFixed(0)} | ${(r.loss * 1000).toFixed(1)} | ${ms.toFixed(1)} |`);
  }
  out.push(
    '## SOFC anode (TPB Butler–Volmer, Ni coarsening)',
    '',
    `Analytic check (linear kinetics, σ_el → ∞): ASR ${(lin.loss * 1e4).toFixed(4)} Ω·cm² vs √(ρ_io r_ct)·coth(L/ℓ) = ${(asrAnalytic * 1e4).toFixed(4)} Ω·cm² (${msLin.toFixed(1)} ms).`,
    '',
    'Layer: 5 µm/µm³ active TPB, σ_eff = 0.2 × bulk YSZ / Ni, 20 µm, 800 °C, 0.5 A/cm², Ni 45 % of the solid:',
    '',
    '| hours | TPB (µm/µm³) | σ_Ni,eff (kS/m) | anode loss (mV) | ms |',
    '| --- | --- | --- | --- | --- |',
    ...srow,
    '',
    '**No published reference is compared**: i0 per TPB length (1e-3 A/m) and the coarsening rate (30 % in 1000 h) are stated assumptions, not fits.',
    '',
  );

  // Written now as well, so a run cut short (the campaigns take minutes) keeps the model results.
  writeFileSync(new URL('results/device.md', import.meta.url), [...out, '## Campaigns with a device-level reward', '', '(not run in this invocation: `--skip-campaigns`, or cut short)', ''].join('\n'));
  writeFileSync(new URL('results/device.json', import.meta.url), JSON.stringify(json, null, 2));
  if (args.includes('--skip-campaigns')) return;

  // ── one campaign per device model (runCampaign, embedded broker, simulated rigs) ──────────
  const crow: string[] = [];
  const campaigns: unknown[] = [];
  for (const name of ['pemfc-device', 'liion-device', 'sofc-device']) {
    const dir = mkdtempSync(join(os.tmpdir(), 'poreloop-bench-device-'));
    const t0 = performance.now();
    try {
      const s = await runCampaign(loadCampaign(new URL(`../configs/${name}.yaml`, import.meta.url).pathname), { db: join(dir, 'ledger.db'), log: () => {} });
      const wall = (performance.now() - t0) / 1000;
      const b = s.best;
      crow.push(`| \`configs/${name}.yaml\` | \`${s.reward}\` | ${s.status} (${s.stopReason ?? '—'}) | ${s.rigRuns} | ${b?.measuredReward?.toFixed(4) ?? '—'} | ${b?.predictedReward?.toFixed(4) ?? '—'} | ${b ? Object.entries(b.params).map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toFixed(3) : v}`).join(', ') : '—'} | ${wall.toFixed(0)} |`);
      campaigns.push({ name, status: s.status, stopReason: s.stopReason, rigRuns: s.rigRuns, best: b, wallS: wall, top: s.top });
    } catch (e) {
      crow.push(`| \`configs/${name}.yaml\` | — | error: ${(e as Error).message} | | | | | ${((performance.now() - t0) / 1000).toFixed(0)} |`);
      campaigns.push({ name, error: (e as Error).message });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  json.campaigns = campaigns;
  out.push(
    '## Campaigns with a device-level reward',
    '',
    'One short campaign per device model through `runCampaign` (embedded MQTT broker, simulated fabricate → characterise rigs whose truth is the twin + device model with the config\'s bias and noise), seed 7, 6 rig runs each. A demonstration that the device properties drive a campaign end to end, not an optimisation study (one seed).',
    '',
    '| config | reward | status | rig runs | best measured reward | its predicted reward | best parameters | wall (s) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...crow,
    '',
    'Reading: the PEMFC reward is nearly flat over this space (the modelled GDL alone limits far above 1.5 A/cm², so the voltage moves by millivolts; docs/device-models.md); the DFN capacities of twin electrodes are to the cut-off or to the knee where time stepping collapses (diagnostics `dfn_2C`); the SOFC i0 per TPB length and coarsening rate are assumptions.',
    '',
  );
  writeFileSync(new URL('results/device.md', import.meta.url), out.join('\n'));
  writeFileSync(new URL('results/device.json', import.meta.url), JSON.stringify(json, null, 2));
  console.log(out.join('\n'));
}
