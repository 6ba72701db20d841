import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../src/core/protocols.js';
import { generateSofcAnode } from './sofc-anode.js';
import { countLabels } from './params.js';

const opts = { seed: 2, size: [48, 48, 48] as Shape3, voxelSize: 0.1 };

describe('sofc-anode', () => {
  it('hits porosity and the Ni:YSZ ratio after sintering', () => {
    const out = generateSofcAnode({ porosity: 0.4, niFraction: 0.4 }, opts);
    const c = countLabels(out.voxels.data);
    const n = out.voxels.data.length;
    expect(Math.abs(c[0] / n - 0.4)).toBeLessThanOrEqual(0.01);
    expect(Math.abs(c[1] / (c[1] + c[2]) - 0.4)).toBeLessThanOrEqual(0.01);
    expect(out.achieved.niDiameter).toBeGreaterThan(0.9);
    expect(out.achieved.niDiameter).toBeLessThan(1.1);
    expect(out.achieved.tpbDensity).toBeGreaterThan(0);
  });

  it('sintering grows necks at fixed centres: the green body is more porous, necks widen with growth', () => {
    const green = generateSofcAnode({}, { ...opts, untilStage: 'pack' });
    const sintered = generateSofcAnode({}, opts);
    expect(green.achieved.porosity).toBeCloseTo(sintered.achieved.greenPorosity, 6);
    expect(green.achieved.porosity).toBeGreaterThan(sintered.achieved.porosity + 0.05);
    expect(sintered.achieved.neckRatio).toBeGreaterThan(green.achieved.neckRatio);
  });

  it('is deterministic for a seed', () => {
    const a = generateSofcAnode({}, opts);
    const b = generateSofcAnode({}, opts);
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(b.voxels.data))).toBe(true);
    const c = generateSofcAnode({}, { ...opts, seed: 3 });
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(c.voxels.data))).toBe(false);
    expect(Math.abs(a.achieved.porosity - c.achieved.porosity)).toBeLessThan(0.01);
  });

  it('rejects a porosity the packing cannot reach', () => {
    expect(() => generateSofcAnode({ porosity: 0.2, overlap: 0, sinterGrowth: 0 }, opts)).toThrow(/cannot reach porosity 0.2/);
  });

  it('names the domain when particles are too large for it (review 2026-12-07: it blamed overlap and sinterGrowth only)', () => {
    const small = { ...opts, voxelSize: 0.16 };
    expect(() => generateSofcAnode({ niDiameter: 5 }, small)).toThrow(/niDiameter 5 µm does not fit the domain: 48×48×48 voxels of 0.16 µm is 7.68 µm across in plane, which holds mean diameters ≤ 3.84 µm/);
    // Within that bound a box a few particles across may still jam: the refusal says so.
    expect(() => generateSofcAnode({ niDiameter: 3 }, small)).toThrow(/jammed .*7.68 µm = 2.6 mean diameters of 3 µm across in plane.*or use a larger size/);
  });
});
