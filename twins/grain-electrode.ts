import { BadInputError } from '../src/core/errors.js';
import type { ContinuousParameter, Parameters, Shape3, Twin, TwinGenerateOptions, TwinOutput, TwinStage } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { fillBridges, fillCoating } from '../src/voxel/fill.js';
import { createGapField, GAP_MAX_VOXELS } from '../src/voxel/raster.js';
import { createVoxels } from '../src/voxel/voxels.js';
import { contactStats, coveredVoxels, packGrains, rasteriseGrains, type Grain } from './packing.js';
import { withProcess } from './process.js';
import { grainElectrodeProcess } from './grain-electrode-process.js';
import { checkFitsDomain, checkGrid, domainAcross, checkOptions, countLabels, resolveParams, round6, continuous } from './params.js';

/**
 * grain-electrode: a Li-ion cathode by stochastic grain packing (issue 3). Active-material
 * spheres with log-normal diameters are cast by RSA with controlled overlap (packing.ts);
 * the carbon-binder domain (CBD) is placed at particle contacts and necks (bridge rule,
 * src/voxel/fill.ts); calendering compresses the cast layer to the target porosity with
 * mass-conserving particle overlap. Labels: 0 pore, 1 active material, 2 CBD.
 * Model and rules: docs/twins.md.
 */

export const GRAIN_ELECTRODE_PHASES = { 0: 'pore', 1: 'active', 2: 'cbd' } as const;
const AM = 1;
const CBD = 2;

const P = continuous;

export const GRAIN_ELECTRODE_PARAMETERS: ContinuousParameter[] = [
  P({ name: 'particleDiameter', unit: 'µm', min: 1, max: 30, default: 10, description: 'mean active-material particle diameter (NMC secondary particles: 5–15 µm)' }),
  P({ name: 'particleDiameterCv', unit: '', min: 0, max: 0.6, default: 0.25, description: 'coefficient of variation of the particle diameter (log-normal)' }),
  P({ name: 'aspectRatio', unit: '', min: 0.3, max: 1, default: 1, description: 'particle shape: 1 spheres; < 1 oblate spheroids (flakes) lying flat, thickness/diameter' }),
  P({ name: 'porosity', unit: '', min: 0.15, max: 0.6, default: 0.3, description: 'porosity after calendering (the calender target)' }),
  P({ name: 'castPorosity', unit: '', min: 0.3, max: 0.75, default: 0.5, description: 'porosity of the dried, uncalendered coating; must be ≥ porosity' }),
  P({ name: 'cbdFraction', unit: '', min: 0, max: 0.3, default: 0.1, description: 'carbon-binder-domain volume fraction of the calendered electrode (of the total volume)' }),
  P({ name: 'overlap', unit: '', min: 0, max: 0.5, default: 0.2, description: 'largest fractional overlap allowed between cast particles: centre distance ≥ (1 − overlap)(rᵢ + rⱼ)' }),
];

export const GRAIN_ELECTRODE_STAGES: TwinStage[] = [
  { name: 'cast', description: 'active-material particles cast by random sequential addition with controlled overlap, at the cast porosity', parameters: ['particleDiameter', 'particleDiameterCv', 'aspectRatio', 'castPorosity', 'cbdFraction', 'overlap', 'porosity'] },
  { name: 'dry', description: 'solvent evaporates; the carbon-binder domain remains at particle contacts and necks (bridge rule)', parameters: ['cbdFraction'] },
  { name: 'calender', description: 'thickness reduced to reach the target porosity: centres move with the strain, particles overlap and grow to conserve their volume', parameters: ['porosity'] },
];

export function createGrainElectrode(): Twin {
  return {
    name: 'grain-electrode',
    description: 'Li-ion cathode: log-normal particle packing + carbon-binder domain at necks + calendering',
    parameters: GRAIN_ELECTRODE_PARAMETERS,
    ...withProcess(GRAIN_ELECTRODE_STAGES, grainElectrodeProcess()),
    phases: { ...GRAIN_ELECTRODE_PHASES },
    generate: generateGrainElectrode,
    checkInput: checkGrainElectrode,
  };
}

/** The parameters and grid checks of generation (Twin.checkInput): particles at least 2 voxels thick, that fit the domain. */
export function checkGrainElectrode(params: Parameters, grid: Pick<TwinGenerateOptions, 'size' | 'voxelSize'>): Record<string, number> {
  const q = resolveParams('grain-electrode', GRAIN_ELECTRODE_PARAMETERS, params);
  const shape = checkGrid(grid);
  const vs = grid.voxelSize;
  if ((q.particleDiameter / vs) * q.aspectRatio < 2) {
    const d = q.particleDiameter * q.aspectRatio;
    throw new BadInputError(`particle thickness ${+d.toPrecision(3)} µm (particleDiameter × aspectRatio) is under 2 voxels of ${vs} µm; use voxelSize ≤ ${+(d / 2).toPrecision(3)} µm`, 'voxelSize');
  }
  checkFitsDomain('particleDiameter', q.particleDiameter, shape, vs, 'params.particleDiameter');
  return q;
}

export function generateGrainElectrode(params: Parameters, options: TwinGenerateOptions): TwinOutput {
  const q = checkGrainElectrode(params, options);
  const { shape, lastStage } = checkOptions('grain-electrode', GRAIN_ELECTRODE_STAGES, options);
  const [nx, ny, nz] = shape;
  const vs = options.voxelSize;
  const dVox = q.particleDiameter / vs;
  if (q.castPorosity < q.porosity) {
    throw new BadInputError(`castPorosity ${q.castPorosity} is below porosity ${q.porosity}: calendering only densifies; allowed castPorosity ≥ porosity`, 'params.castPorosity');
  }
  const progress = options.onProgress ?? (() => {});
  const rng = createRng(options.seed);
  const achieved: Record<string, number> = {};
  const stagesRun: string[] = [];

  // Mass balance: the solid of the final nx·ny·nz electrode, spread over the cast thickness H0.
  const N = nx * ny * nz;
  const amTarget = Math.round(N * (1 - q.porosity - q.cbdFraction));
  const cbdTarget = Math.round(N * q.cbdFraction);
  const H0 = Math.max(nz, Math.round((nz * (1 - q.porosity)) / (1 - q.castPorosity)));
  const cast: Shape3 = [nx, ny, H0];
  const N0 = nx * ny * H0;

  // ── cast
  const pack = packGrains(cast, rng.fork('cast'), {
    populations: [{ meanD: dVox, cv: q.particleDiameterCv, share: 1, label: AM }],
    targetVoxels: amTarget,
    overlap: q.overlap,
    aspect: q.aspectRatio,
  });
  if (!pack.reached) {
    throw new BadInputError(
      `cannot cast an active-material fraction of ${(amTarget / N0).toFixed(3)} with overlap ${q.overlap} (packing jammed at ${(pack.counts[0] / N0).toFixed(3)}; ${domainAcross(shape, vs, q.particleDiameter)}): raise overlap or castPorosity, lower porosity/cbdFraction, or use a larger size`,
      'params.overlap',
    );
  }
  stagesRun.push('cast');
  progress(0.4, 'cast');
  const grains = pack.grains;
  const amCast = pack.counts[0];
  achieved.particleCount = grains.length;
  particleStats(grains, vs, achieved);

  let grainsOut: Grain[] = grains;
  let outShape: Shape3 = cast;
  let factor = 1;
  if (lastStage >= 2 && H0 > nz) {
    // ── calender: centres follow the through-plane strain; the overlap this creates would
    // delete material, so all radii grow by one factor α until the active-material volume
    // equals the cast's again (solid incompressible, material squeezed from the contacts is
    // redistributed over the particle surfaces). α by bisection on the voxel count.
    const k = nz / H0;
    grainsOut = grains.map((g) => ({ ...g, cz: g.cz * k }));
    outShape = shape;
    const scratch = new Uint8Array(N);
    const f = (a: number) => coveredVoxels(outShape, grainsOut, a, scratch) - amCast;
    // Bracket the root of f(α) = covered(α) − cast volume (monotone in α), then Illinois
    // regula falsi: a handful of rasterisations instead of a dozen bisection steps.
    let a = 1;
    let fa = f(a);
    let b = 1.05;
    let fb = fa < 0 ? f(b) : 0;
    while (fa < 0 && fb < 0 && b < 3) {
      a = b;
      fa = fb;
      b *= 1.1;
      fb = f(b);
    }
    let fbTrue = fb;
    let side = 0;
    for (let it = 0; it < 12 && fa < 0 && fbTrue > 1e-4 * amCast; it++) {
      const m = (a * fb - b * fa) / (fb - fa);
      const fm = f(m);
      if (fm < 0) {
        a = m;
        fa = fm;
        if (side === -1) fb /= 2;
        side = -1;
      } else {
        b = m;
        fb = fbTrue = fm;
        if (side === 1) fa /= 2;
        side = 1;
      }
    }
    factor = fa < 0 ? b : 1;
    achieved.radiusGrowth = factor;
    progress(0.8, 'calender');
  }
  const [ox, oy, oz] = outShape;
  const gapMax = Math.max(2, Math.min(GAP_MAX_VOXELS, Math.round(dVox / 4)));
  const wantCbd = lastStage >= 1 && q.cbdFraction > 0;
  const gaps = wantCbd ? createGapField(ox * oy * oz, gapMax) : undefined;
  const r = rasteriseGrains(outShape, grainsOut, [AM], factor, gaps);
  const data = r.data;
  if (wantCbd) {
    // CBD: to the target fraction of the calendered electrode (in the dry, uncalendered
    // state: the same volume over the thicker cast layer).
    const want = outShape[2] === nz ? Math.max(0, Math.round(N * (1 - q.porosity)) - r.counts[0]) : Math.round(cbdTarget);
    const cr = rng.fork('cbd');
    const atNecks = fillBridges(data, gaps!, CBD, want, cr);
    // Necks within gapMax full: the rest of the CBD coats the particles.
    if (want > atNecks) fillCoating(data, outShape, CBD, want - atNecks, cr);
    achieved.cbdAtNecks = want > 0 ? atNecks / want : 1;
  }
  if (lastStage >= 1) stagesRun.push('dry');
  if (lastStage >= 2) stagesRun.push('calender');
  progress(1, stagesRun[stagesRun.length - 1]);

  const counts = countLabels(data);
  const n = data.length;
  achieved.porosity = counts[0] / n;
  achieved.activeFraction = counts[AM] / n;
  achieved.cbdFraction = counts[CBD] / n;
  achieved.castPorosity = 1 - (amCast + (wantCbd ? cbdTarget : 0)) / N0;
  achieved.thickness = outShape[2] * vs;
  achieved.thicknessCast = H0 * vs;
  achieved.compression = 1 - outShape[2] / H0;
  achieved.activeVolumeConservation = amCast > 0 ? counts[AM] / amCast : 1;
  const cs = contactStats(grainsOut, factor);
  achieved.coordinationNumber = cs.coordination;
  achieved.neckRatio = cs.neckRatio;
  for (const key of Object.keys(achieved)) achieved[key] = round6(achieved[key]);
  return { voxels: createVoxels(outShape, vs, { ...GRAIN_ELECTRODE_PHASES }, data), requested: { ...q }, achieved, stages: stagesRun };
}

/** Particle diameter mean and CV in µm (as drawn; diameters before calendering growth). */
export function particleStats(grains: readonly Grain[], vs: number, a: Record<string, number>): void {
  let s = 0;
  let s2 = 0;
  for (const g of grains) {
    const d = 2 * g.r * vs;
    s += d;
    s2 += d * d;
  }
  const n = grains.length;
  const mean = n > 0 ? s / n : 0;
  a.particleDiameter = mean;
  a.particleDiameterCv = n > 1 ? Math.sqrt(Math.max(0, (s2 - n * mean * mean) / (n - 1))) / mean : 0;
}
