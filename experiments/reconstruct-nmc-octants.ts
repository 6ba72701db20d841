/**
 * Issue #19, context for experiments/results/reconstruction.md: porosity and τ per axis of the
 * eight 80³ octants of the real NMC 160³ crop — how much τ itself varies between real
 * volumes of the size the reconstructions have. Prints one JSON line per octant
 * (kept in experiments/results/reconstruction-real-octants.jsonl).
 *
 *   nice -n 10 npx tsx experiments/reconstruct-nmc-octants.ts
 */
import { readVolume } from '../src/voxel/io.js';
import { cropVolume } from '../src/voxel/transform.js';
import { tauPerAxis } from '../src/reconstruct/report.js';
const full = readVolume('/work/shared/reference/real/nrel-nmc1-cal-cbd-bridge.tif', { voxelSize: 1 });
const real = cropVolume(full, [70, 70, 45], [160, 160, 160]);
for (const ox of [0, 80]) for (const oy of [0, 80]) for (const oz of [0, 80]) {
  const c = cropVolume(real, [ox, oy, oz], [80, 80, 80]);
  let n = 0; for (const v of c.data) if (v === 0) n++;
  const t = await tauPerAxis(c, [0]);
  const t2 = await tauPerAxis(c, [0, 2]);
  console.log(JSON.stringify({ origin: [ox, oy, oz], porosity: n / c.data.length, tauPore: t, tauPoreCbd: t2 }));
}
