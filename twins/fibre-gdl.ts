import { BadInputError } from '../src/core/errors.js';
import type { ContinuousParameter, Parameters, Shape3, Twin, TwinGenerateOptions, TwinOutput, TwinStage } from '../src/core/protocols.js';
import { createRng, type Rng } from '../src/core/rng.js';
import { collapseColumns } from '../src/voxel/compress.js';
import { fillBridges, fillCoating } from '../src/voxel/fill.js';
import { createGapField, GAP_MAX_VOXELS, rasteriseCylinder, type Cylinder } from '../src/voxel/raster.js';
import { createVoxels } from '../src/voxel/voxels.js';
import { checkFitsDomain, checkGrid, checkOptions, countLabels, lognormal, resolveParams, round6, continuous } from './params.js';

/**
 * fibre-gdl: a non-woven carbon-paper gas diffusion layer by stochastic fibre stacking
 * (Schulz et al., J. Electrochem. Soc. 154 (2007) B419; binder and PTFE after Hinebaugh et
 * al. and Burganos et al.; issue 3). See docs/twins.md for the model and its rules.
 *
 * z is the through-plane axis. Labels: 0 pore, 1 fibre, 2 binder (carbonised resin), 3 PTFE.
 */

export const FIBRE_GDL_PHASES = { 0: 'pore', 1: 'fibre', 2: 'binder', 3: 'ptfe' } as const;
const FIBRE = 1;
const BINDER = 2;
const PTFE = 3;

const P = continuous;

export const FIBRE_GDL_PARAMETERS: ContinuousParameter[] = [
  P({ name: 'fibreDiameter', unit: 'µm', min: 3, max: 20, default: 7, description: 'mean carbon-fibre diameter (Toray TGP-H: ~7 µm)' }),
  P({ name: 'fibreDiameterCv', unit: '', min: 0, max: 0.5, default: 0.1, description: 'coefficient of variation of the fibre diameter (log-normal distribution)' }),
  P({
    name: 'porosity',
    unit: '',
    min: 0.5,
    max: 0.95,
    default: 0.78,
    description: 'porosity of the carbon paper (fibres + binder) as made, before PTFE treatment and compression — the datasheet value (Toray TGP-H: 0.78)',
  }),
  P({ name: 'binderFraction', unit: '', min: 0, max: 0.6, default: 0.2, description: 'carbonised binder volume as a fraction of the carbon solid (binder / (fibre + binder))' }),
  P({ name: 'anisotropy', unit: '', min: 0, max: 0.95, default: 0, description: 'in-plane orientation order S = <cos 2φ> of the fibres, φ from the x (machine) direction: 0 isotropic, → 1 all along x' }),
  P({ name: 'outOfPlaneAngle', unit: '°', min: 0, max: 20, default: 2, description: 'standard deviation of the fibre tilt out of the x–y plane' }),
  P({ name: 'ptfeLoading', unit: 'wt%', min: 0, max: 60, default: 0, description: 'PTFE mass fraction of the treated paper, 100·m_PTFE / (m_carbon + m_PTFE)' }),
  P({ name: 'ptfeGradient', unit: '', min: -0.9, max: 0.9, default: 0, description: 'through-plane grading of the PTFE coat: relative loading 1 + g·(2z/H − 1), g > 0 more PTFE at the top (z = H)' }),
  P({ name: 'compression', unit: '', min: 0, max: 0.5, default: 0, description: 'thickness strain of the compress stage (assembly or calendering), 1 − t/t₀' }),
  P({ name: 'fibreDensity', unit: 'g/cm³', min: 1.5, max: 2.3, default: 1.8, description: 'density of the carbon fibres (PAN-based: 1.76–1.8)' }),
  P({ name: 'binderDensity', unit: 'g/cm³', min: 1.2, max: 2.3, default: 1.5, description: 'density of the carbonised binder (resin-derived glassy carbon: ~1.5)' }),
  P({ name: 'ptfeDensity', unit: 'g/cm³', min: 2, max: 2.3, default: 2.2, description: 'density of sintered PTFE (2.1–2.2)' }),
];

export const FIBRE_GDL_STAGES: TwinStage[] = [
  {
    name: 'lay-fibres',
    description: 'straight fibres laid layer by layer, nearly in-plane, until the fibre volume fraction (1 − porosity)(1 − binderFraction) of the uncompressed sheet is reached',
    parameters: ['fibreDiameter', 'fibreDiameterCv', 'porosity', 'binderFraction', 'anisotropy', 'outOfPlaneAngle', 'compression'],
  },
  { name: 'bind', description: 'carbonised binder fills the necks where fibres cross or lie close (bridge rule)', parameters: ['binderFraction'] },
  { name: 'ptfe-treat', description: 'PTFE coats carbon surfaces to the given loading, optionally graded through the thickness', parameters: ['ptfeLoading', 'ptfeGradient', 'fibreDensity', 'binderDensity', 'ptfeDensity'] },
  { name: 'compress', description: 'through-plane compression by pore collapse: thickness and porosity fall, solid volume is conserved', parameters: ['compression'] },
];

/** A laid fibre, in voxel units of the uncompressed sheet, with its angles. */
export interface LaidFibre extends Cylinder {
  /** Diameter in µm. */
  diameter: number;
  /** In-plane angle from x, radians in (−π/2, π/2]. */
  phi: number;
  /** Tilt out of the x–y plane, radians. */
  theta: number;
  /** Length of its in-plane chord through the domain, voxels. */
  chord: number;
}

/** Ratio I₁(κ)/I₀(κ) (modified Bessel functions by their power series; κ ≤ 60 here). */
export function besselRatio(k: number): number {
  let i0 = 0;
  let i1 = 0;
  let t0 = 1;
  let t1 = k / 2;
  for (let m = 0; m < 200; m++) {
    i0 += t0;
    i1 += t1;
    const q = (k / 2) ** 2;
    t0 *= q / ((m + 1) * (m + 1));
    t1 *= q / ((m + 1) * (m + 2));
    if (t0 < 1e-17 * i0 && t1 < 1e-17 * i1) break;
  }
  return i1 / i0;
}

/** Concentration κ of the axial von Mises law with order parameter S = <cos 2φ> (bisection). */
export function kappaForOrder(S: number): number {
  if (S <= 0) return 0;
  let lo = 0;
  let hi = 60;
  for (let it = 0; it < 80; it++) {
    const mid = (lo + hi) / 2;
    if (besselRatio(mid) < S) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** von Mises(0, κ) sample on (−π, π] (Best & Fisher, Appl. Stat. 28 (1979) 152). */
export function vonMises(rng: Rng, k: number): number {
  if (k < 1e-8) return rng.uniform(-Math.PI, Math.PI);
  const tau = 1 + Math.sqrt(1 + 4 * k * k);
  const rho = (tau - Math.sqrt(2 * tau)) / (2 * k);
  const r = (1 + rho * rho) / (2 * rho);
  for (;;) {
    const z = Math.cos(Math.PI * rng.next());
    const f = (1 + r * z) / (r + z);
    const c = k * (r - f);
    const u2 = rng.next();
    if (c * (2 - c) - u2 > 0 || Math.log(c / u2) + 1 - c >= 0) {
      return (rng.next() < 0.5 ? -1 : 1) * Math.acos(Math.min(1, Math.max(-1, f)));
    }
  }
}

/** In-plane half-width of the nx × ny domain seen along the normal of direction φ. */
export function projectedHalfWidth(nx: number, ny: number, phi: number): number {
  return (nx / 2) * Math.abs(Math.sin(phi)) + (ny / 2) * Math.abs(Math.cos(phi));
}

/**
 * Draws one fibre of a stationary line process restricted to the domain: direction φ from the
 * axial von Mises law (so that fibre *length* per direction follows it), accepted with
 * probability ∝ its projected width (lines hitting a window are width-weighted, Santaló), and
 * the offset uniform across that width. z-centre uniform in [z0, z1).
 */
export function drawFibre(rng: Rng, shape: Shape3, o: { dMeanVox: number; cv: number; kappa: number; tiltSd: number; margin: number; z0: number; z1: number; voxelSize: number }): LaidFibre {
  const [nx, ny] = shape;
  const d = lognormal(rng, o.dMeanVox, o.cv);
  const r = d / 2;
  const m = r + o.margin;
  const hMax = Math.hypot(nx, ny) / 2 + m;
  let phi = 0;
  let h = 0;
  do {
    phi = vonMises(rng, o.kappa) / 2;
    h = projectedHalfWidth(nx, ny, phi) + m;
  } while (rng.next() * hMax > h);
  const p = rng.uniform(-h, h);
  const theta = Math.max(-1.2, Math.min(1.2, o.tiltSd * rng.normal()));
  const cx = nx / 2 - p * Math.sin(phi);
  const cy = ny / 2 + p * Math.cos(phi);
  const ct = Math.cos(theta);
  const f: LaidFibre = {
    px: cx,
    py: cy,
    pz: rng.uniform(o.z0, o.z1),
    ux: ct * Math.cos(phi),
    uy: ct * Math.sin(phi),
    uz: Math.sin(theta),
    r,
    diameter: d * o.voxelSize,
    phi,
    theta,
    chord: 0,
  };
  f.chord = chordInRect(cx, cy, Math.cos(phi), Math.sin(phi), nx, ny);
  return f;
}

/** Length of the line (x0, y0) + t(cx, cy) inside [0, nx] × [0, ny] (Liang–Barsky). */
function chordInRect(x0: number, y0: number, cx: number, cy: number, nx: number, ny: number): number {
  let t0 = -Infinity;
  let t1 = Infinity;
  for (const [p, q0, q1] of [
    [cx, -x0, nx - x0],
    [cy, -y0, ny - y0],
  ] as const) {
    if (Math.abs(p) < 1e-12) {
      if (q0 > 0 || q1 < 0) return 0;
      continue;
    }
    const a = q0 / p;
    const b = q1 / p;
    t0 = Math.max(t0, Math.min(a, b));
    t1 = Math.min(t1, Math.max(a, b));
  }
  return Math.max(0, t1 - t0);
}

export function createFibreGdl(): Twin {
  return {
    name: 'fibre-gdl',
    description: 'non-woven carbon-paper gas diffusion layer: stochastic fibre stacking + binder + PTFE + compression (Schulz et al. 2007)',
    parameters: FIBRE_GDL_PARAMETERS,
    stages: FIBRE_GDL_STAGES,
    phases: { ...FIBRE_GDL_PHASES },
    generate: generateFibreGdl,
    checkInput: checkFibreGdl,
  };
}

/** The parameters and grid checks of generation (Twin.checkInput): fibres of a voxel or more, that fit the domain. */
export function checkFibreGdl(params: Parameters, grid: Pick<TwinGenerateOptions, 'size' | 'voxelSize'>): Record<string, number> {
  const q = resolveParams('fibre-gdl', FIBRE_GDL_PARAMETERS, params);
  const shape = checkGrid(grid);
  const vs = grid.voxelSize;
  if (q.fibreDiameter / vs < 1) {
    throw new BadInputError(
      `fibreDiameter ${q.fibreDiameter} µm is smaller than one voxel (${vs} µm): use voxelSize ≤ ${q.fibreDiameter} µm (≥ 3 voxels per diameter recommended)`,
      'voxelSize',
    );
  }
  checkFitsDomain('fibreDiameter', q.fibreDiameter, shape, vs, 'params.fibreDiameter');
  return q;
}

export function generateFibreGdl(params: Parameters, options: TwinGenerateOptions): TwinOutput {
  const q = checkFibreGdl(params, options);
  const { shape, lastStage } = checkOptions('fibre-gdl', FIBRE_GDL_STAGES, options);
  const [nx, ny, nz] = shape;
  const vs = options.voxelSize;
  const dMeanVox = q.fibreDiameter / vs;
  const progress = options.onProgress ?? (() => {});
  const rng = createRng(options.seed);
  const achieved: Record<string, number> = {};
  const stagesRun: string[] = [];

  // ── lay-fibres: the uncompressed sheet is thicker, so that after compression it fills nz.
  const H0 = q.compression > 0 ? Math.round(nz / (1 - q.compression)) : nz;
  const sheet: Shape3 = [nx, ny, H0];
  const n0 = nx * ny * H0;
  const data = new Uint8Array(n0);
  const gapMax = Math.max(2, Math.min(GAP_MAX_VOXELS, Math.round(dMeanVox / 2)));
  const gaps = lastStage >= 1 && q.binderFraction > 0 ? createGapField(n0, gapMax) : undefined;
  const fibreTarget = Math.round(n0 * (1 - q.porosity) * (1 - q.binderFraction));
  const layers = Math.max(1, Math.round(H0 / dMeanVox));
  const fr = rng.fork('fibres');
  const draw = {
    dMeanVox,
    cv: q.fibreDiameterCv,
    kappa: kappaForOrder(q.anisotropy),
    tiltSd: (q.outOfPlaneAngle * Math.PI) / 180,
    // Same margin whether or not gaps are recorded, so every stage sees the same fibres.
    margin: gapMax,
    z0: 0,
    z1: 0,
    voxelSize: vs,
  };
  const fibres: LaidFibre[] = [];
  let fibreVox = 0;
  // Layer by layer (Schulz et al.: the paper is built up in thin sheets of in-plane fibres):
  // layer k's fibres are centred in its slab, until the running total reaches its share.
  for (let k = 0; k < layers; k++) {
    draw.z0 = (k * H0) / layers;
    draw.z1 = ((k + 1) * H0) / layers;
    const goal = Math.round((fibreTarget * (k + 1)) / layers);
    while (fibreVox < goal) {
      const f = drawFibre(fr, sheet, draw);
      fibreVox += rasteriseCylinder(data, sheet, f, FIBRE, gaps);
      fibres.push(f);
      if (fibres.length > 5_000_000) throw new Error('fibre-gdl: fibre budget exhausted (bug: fibres add no volume)');
    }
    progress((0.6 * (k + 1)) / layers, 'lay-fibres');
  }
  stagesRun.push('lay-fibres');
  fibreStats(fibres, achieved);

  // ── bind: binder volume = binderFraction/(1 − binderFraction) × fibre volume, placed by the
  // bridge rule; if the necks within gapMax cannot hold it all, the rest coats the fibres.
  let binderVox = 0;
  if (lastStage >= 1) {
    const want = Math.round((q.binderFraction / (1 - q.binderFraction)) * fibreVox);
    const br = rng.fork('binder');
    const atNecks = gaps ? fillBridges(data, gaps, BINDER, want, br) : 0;
    const rest = want - atNecks > 0 ? fillCoating(data, sheet, BINDER, want - atNecks, br) : 0;
    binderVox = atNecks + rest;
    achieved.binderAtNecks = want > 0 ? atNecks / want : 1;
    stagesRun.push('bind');
    progress(0.75, 'bind');
  }
  achieved.porosityPaper = 1 - (fibreVox + binderVox) / n0;
  achieved.binderFraction = fibreVox + binderVox > 0 ? binderVox / (fibreVox + binderVox) : 0;

  // ── ptfe-treat: wt% → volume with the densities, then the coating rule.
  let ptfeVox = 0;
  if (lastStage >= 2 && q.ptfeLoading > 0) {
    const w = q.ptfeLoading / 100;
    const carbonMass = fibreVox * q.fibreDensity + binderVox * q.binderDensity;
    const want = Math.round(((w / (1 - w)) * carbonMass) / q.ptfeDensity);
    const pore = n0 - fibreVox - binderVox;
    if (want > pore) {
      const wMax = (pore * q.ptfeDensity) / (carbonMass + pore * q.ptfeDensity);
      throw new BadInputError(
        `ptfeLoading ${q.ptfeLoading} wt% needs ${(want / n0).toFixed(3)} of the volume as PTFE but only ${(pore / n0).toFixed(3)} is pore; at most ${(100 * wMax).toFixed(1)} wt% fits at porosity ${q.porosity}`,
        'params.ptfeLoading',
      );
    }
    const weights = new Float64Array(H0);
    for (let z = 0; z < H0; z++) weights[z] = 1 + q.ptfeGradient * ((2 * (z + 0.5)) / H0 - 1);
    ptfeVox = fillCoating(data, sheet, PTFE, want, rng.fork('ptfe'), weights);
    stagesRun.push('ptfe-treat');
    progress(0.9, 'ptfe-treat');
  } else if (lastStage >= 2) stagesRun.push('ptfe-treat');
  achieved.porosityUncompressed = 1 - (fibreVox + binderVox + ptfeVox) / n0;
  achieved.thicknessUncompressed = H0 * vs;

  // ── compress
  let out: Uint8Array = data;
  let outShape: Shape3 = sheet;
  if (lastStage >= 3) {
    if (H0 > nz) {
      const c = collapseColumns(data, sheet, nz);
      out = c.data;
      outShape = c.shape;
      achieved.solidLost = c.solidLost;
    } else achieved.solidLost = 0;
    stagesRun.push('compress');
  }
  achieved.compression = 1 - outShape[2] / H0;
  progress(1, stagesRun[stagesRun.length - 1]);

  // ── what was achieved, measured on the returned volume
  const counts = countLabels(out);
  const N = out.length;
  achieved.porosity = counts[0] / N;
  achieved.fibreVolumeFraction = counts[FIBRE] / N;
  achieved.binderVolumeFraction = counts[BINDER] / N;
  achieved.ptfeVolumeFraction = counts[PTFE] / N;
  const mass = (c: number, rho: number) => c * rho;
  const carbon = mass(counts[FIBRE], q.fibreDensity) + mass(counts[BINDER], q.binderDensity);
  const ptfeMass = mass(counts[PTFE], q.ptfeDensity);
  achieved.ptfeLoading = carbon + ptfeMass > 0 ? (100 * ptfeMass) / (carbon + ptfeMass) : 0;
  achieved.thickness = outShape[2] * vs;
  // Areal weight: Σ count·ρ·vs³ / (nx·ny·vs²), with µm³·g/cm³ → g and µm² → m²: g/m².
  achieved.arealWeight = ((carbon + ptfeMass) * vs) / (nx * ny);
  for (const k of Object.keys(achieved)) achieved[k] = round6(achieved[k]);

  return {
    voxels: createVoxels(outShape, vs, { ...FIBRE_GDL_PHASES }, out),
    requested: { ...q },
    achieved,
    stages: stagesRun,
  };
}

/**
 * Fibre statistics, named after the parameter they measure: count, diameter mean/CV (µm),
 * anisotropy = length-weighted <cos 2φ> (the order S), outOfPlaneAngle = RMS tilt (°).
 */
function fibreStats(fibres: readonly LaidFibre[], a: Record<string, number>): void {
  let sd = 0;
  let sd2 = 0;
  let sl = 0;
  let sc = 0;
  let st2 = 0;
  for (const f of fibres) {
    sd += f.diameter;
    sd2 += f.diameter * f.diameter;
    sl += f.chord;
    sc += f.chord * Math.cos(2 * f.phi);
    st2 += f.theta * f.theta;
  }
  const n = fibres.length;
  const mean = n > 0 ? sd / n : 0;
  a.fibreCount = n;
  a.fibreDiameter = mean;
  a.fibreDiameterCv = n > 1 ? Math.sqrt(Math.max(0, (sd2 - n * mean * mean) / (n - 1))) / mean : 0;
  a.anisotropy = sl > 0 ? sc / sl : 0;
  a.outOfPlaneAngle = n > 0 ? (Math.sqrt(st2 / n) * 180) / Math.PI : 0;
}
