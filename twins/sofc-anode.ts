import { BadInputError } from '../src/core/errors.js';
import type { ContinuousParameter, Parameters, Twin, TwinGenerateOptions, TwinOutput, TwinStage } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { tpbDensity } from '../src/voxel/tpb.js';
import { createVoxels } from '../src/voxel/voxels.js';
import { particleStats } from './grain-electrode.js';
import { contactStats, packGrains, rasteriseGrains } from './packing.js';
import { withProcess } from './process.js';
import { sofcAnodeProcess } from './sofc-anode-process.js';
import { checkFitsDomain, checkGrid, domainAcross, checkOptions, countLabels, resolveParams, round6, continuous } from './params.js';

/**
 * sofc-anode: Ni–YSZ–pore cermet by grain packing with sintering (issue 3), for
 * triple-phase-boundary studies. Ni and YSZ spheres (log-normal diameters) are packed by RSA
 * with controlled overlap (packing.ts); sintering is neck growth at fixed centres: every
 * radius grows by the factor 1 + sinterGrowth, so contacts become necks of radius
 * a = √(r² − x²) (the overlapping-sphere sintering model of e.g. Schneider et al., Electrochim.
 * Acta 2006; Bertei & Nicolella, Powder Technol. 2011). The packing stops when the *sintered*
 * solid reaches 1 − porosity, so the requested porosity is met after sintering.
 * Labels: 0 pore, 1 Ni, 2 YSZ. Model and rules: docs/twins.md.
 */

export const SOFC_ANODE_PHASES = { 0: 'pore', 1: 'ni', 2: 'ysz' } as const;
const NI = 1;
const YSZ = 2;

const P = continuous;

export const SOFC_ANODE_PARAMETERS: ContinuousParameter[] = [
  P({ name: 'porosity', unit: '', min: 0.2, max: 0.6, default: 0.35, description: 'porosity after sintering (and NiO reduction)' }),
  P({ name: 'niFraction', unit: '', min: 0.2, max: 0.8, default: 0.45, description: 'Ni volume fraction of the solid (Ni / (Ni + YSZ))' }),
  P({ name: 'niDiameter', unit: 'µm', min: 0.2, max: 5, default: 1, description: 'mean Ni particle diameter' }),
  P({ name: 'yszDiameter', unit: 'µm', min: 0.2, max: 5, default: 0.8, description: 'mean YSZ particle diameter' }),
  P({ name: 'diameterCv', unit: '', min: 0, max: 0.5, default: 0.2, description: 'coefficient of variation of both diameter distributions (log-normal)' }),
  P({ name: 'overlap', unit: '', min: 0, max: 0.5, default: 0.25, description: 'largest fractional overlap of green (unsintered) particles: centre distance ≥ (1 − overlap)(rᵢ + rⱼ)' }),
  P({ name: 'sinterGrowth', unit: '', min: 0, max: 0.3, default: 0.1, description: 'relative radius growth during sintering (neck growth at fixed centres)' }),
];

export const SOFC_ANODE_STAGES: TwinStage[] = [
  { name: 'pack', description: 'Ni and YSZ particles packed by random sequential addition with controlled overlap (green body)', parameters: ['niFraction', 'niDiameter', 'yszDiameter', 'diameterCv', 'overlap', 'porosity', 'sinterGrowth'] },
  { name: 'sinter', description: 'neck growth: radii grow by 1 + sinterGrowth at fixed centres, to the target porosity', parameters: ['sinterGrowth'] },
];

export function createSofcAnode(): Twin {
  return {
    name: 'sofc-anode',
    description: 'Ni–YSZ–pore SOFC anode: two-population grain packing + sintering neck growth; reports TPB density',
    parameters: SOFC_ANODE_PARAMETERS,
    ...withProcess(SOFC_ANODE_STAGES, sofcAnodeProcess()),
    phases: { ...SOFC_ANODE_PHASES },
    generate: generateSofcAnode,
    checkInput: checkSofcAnode,
  };
}

/** The parameters and grid checks of generation (Twin.checkInput): particles of 2 voxels or more, that fit the domain. */
export function checkSofcAnode(params: Parameters, grid: Pick<TwinGenerateOptions, 'size' | 'voxelSize'>): Record<string, number> {
  const q = resolveParams('sofc-anode', SOFC_ANODE_PARAMETERS, params);
  const shape = checkGrid(grid);
  const vs = grid.voxelSize;
  const dMin = Math.min(q.niDiameter, q.yszDiameter);
  if (dMin / vs < 2) throw new BadInputError(`particle diameter ${dMin} µm is under 2 voxels of ${vs} µm; use voxelSize ≤ ${dMin / 2} µm`, 'voxelSize');
  checkFitsDomain('niDiameter', q.niDiameter, shape, vs, 'params.niDiameter');
  checkFitsDomain('yszDiameter', q.yszDiameter, shape, vs, 'params.yszDiameter');
  return q;
}

export function generateSofcAnode(params: Parameters, options: TwinGenerateOptions): TwinOutput {
  const q = checkSofcAnode(params, options);
  const { shape, lastStage } = checkOptions('sofc-anode', SOFC_ANODE_STAGES, options);
  const vs = options.voxelSize;
  const progress = options.onProgress ?? (() => {});
  const rng = createRng(options.seed);
  const N = shape[0] * shape[1] * shape[2];
  const grow = 1 + q.sinterGrowth;
  const pack = packGrains(shape, rng.fork('pack'), {
    populations: [
      { meanD: q.niDiameter / vs, cv: q.diameterCv, share: q.niFraction, label: NI },
      { meanD: q.yszDiameter / vs, cv: q.diameterCv, share: 1 - q.niFraction, label: YSZ },
    ],
    targetVoxels: Math.round(N * (1 - q.porosity)),
    overlap: q.overlap,
    grow,
  });
  if (!pack.reached) {
    throw new BadInputError(
      `cannot reach porosity ${q.porosity} with overlap ${q.overlap} and sinterGrowth ${q.sinterGrowth} (packing jammed at porosity ${(1 - (pack.counts[0] + pack.counts[1]) / N).toFixed(3)}; ${domainAcross(shape, vs, Math.max(q.niDiameter, q.yszDiameter))}): raise overlap, sinterGrowth or porosity, or use a larger size`,
      'params.porosity',
    );
  }
  progress(0.7, 'pack');
  const green = rasteriseGrains(shape, pack.grains, [NI, YSZ], 1);
  const stagesRun = lastStage >= 1 ? ['pack', 'sinter'] : ['pack'];
  const data = lastStage >= 1 ? pack.data : green.data;
  const factor = lastStage >= 1 ? grow : 1;
  const voxels = createVoxels(shape, vs, { ...SOFC_ANODE_PHASES }, data);
  const counts = countLabels(data);
  const solid = counts[NI] + counts[YSZ];
  const achieved: Record<string, number> = {
    porosity: counts[0] / N,
    greenPorosity: 1 - (green.counts[0] + green.counts[1]) / N,
    niFraction: solid > 0 ? counts[NI] / solid : 0,
    niVolumeFraction: counts[NI] / N,
    yszVolumeFraction: counts[YSZ] / N,
    particleCount: pack.grains.length,
    tpbDensity: tpbDensity(voxels, 0, NI, YSZ),
  };
  const ni = pack.grains.filter((g) => g.pop === 0);
  const ysz = pack.grains.filter((g) => g.pop === 1);
  const a: Record<string, number> = {};
  particleStats(ni, vs, a);
  achieved.niDiameter = a.particleDiameter;
  achieved.niDiameterCv = a.particleDiameterCv;
  particleStats(ysz, vs, a);
  achieved.yszDiameter = a.particleDiameter;
  achieved.yszDiameterCv = a.particleDiameterCv;
  const cs = contactStats(pack.grains, factor);
  achieved.coordinationNumber = cs.coordination;
  achieved.neckRatio = cs.neckRatio;
  progress(1, stagesRun[stagesRun.length - 1]);
  for (const k of Object.keys(achieved)) achieved[k] = round6(achieved[k]);
  return { voxels, requested: { ...q }, achieved, stages: stagesRun };
}
