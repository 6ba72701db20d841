import { describe, expect, it } from 'vitest';
import type { Shape3 } from '../src/core/protocols.js';
import { createRng } from '../src/core/rng.js';
import { generateGrainElectrode } from './grain-electrode.js';
import { packGrains } from './packing.js';
import { countLabels, lognormalCdf } from './params.js';

const opts = { seed: 3, size: [48, 48, 40] as Shape3, voxelSize: 1 };

describe('grain-electrode', () => {
  it('hits the calendered porosity within ±0.01 and the CBD fraction', () => {
    for (const porosity of [0.25, 0.4]) {
      const out = generateGrainElectrode({ porosity, cbdFraction: 0.12, particleDiameter: 8 }, opts);
      const c = countLabels(out.voxels.data);
      const n = out.voxels.data.length;
      expect(Math.abs(c[0] / n - porosity)).toBeLessThanOrEqual(0.01);
      expect(Math.abs(c[2] / n - 0.12)).toBeLessThanOrEqual(0.005);
      expect(out.achieved.cbdAtNecks).toBe(1);
    }
  });

  it('calendering conserves the active-material volume while reducing thickness and porosity', () => {
    const p = { porosity: 0.3, castPorosity: 0.5, particleDiameter: 8 };
    const dry = generateGrainElectrode(p, { ...opts, untilStage: 'dry' });
    const cal = generateGrainElectrode(p, opts);
    expect(dry.voxels.shape[2]).toBe(56); // 40 · 0.7 / 0.5
    expect(cal.voxels.shape[2]).toBe(40);
    const cd = countLabels(dry.voxels.data);
    const cc = countLabels(cal.voxels.data);
    expect(Math.abs(cc[1] / cd[1] - 1)).toBeLessThan(0.002);
    expect(Math.abs(cc[2] / cd[2] - 1)).toBeLessThan(0.01);
    expect(cd[0] / dry.voxels.data.length).toBeGreaterThan(0.48);
    expect(cc[0] / cal.voxels.data.length).toBeCloseTo(0.3, 2);
    // Centres moved closer: more and larger contacts.
    expect(cal.achieved.coordinationNumber).toBeGreaterThan(0);
    expect(cal.achieved.radiusGrowth).toBeGreaterThan(1);
  });

  it('is deterministic for a seed and statistically stable across seeds', () => {
    const a = generateGrainElectrode({}, opts);
    const b = generateGrainElectrode({}, opts);
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(b.voxels.data))).toBe(true);
    const c = generateGrainElectrode({}, { ...opts, seed: 4 });
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(c.voxels.data))).toBe(false);
    expect(Math.abs(a.achieved.porosity - c.achieved.porosity)).toBeLessThan(0.01);
  });

  it('rejects impossible combinations with the allowed range', () => {
    expect(() => generateGrainElectrode({ porosity: 0.5, castPorosity: 0.4 }, opts)).toThrow(/castPorosity 0.4 is below porosity 0.5.*allowed castPorosity ≥ porosity/);
    expect(() => generateGrainElectrode({ overlap: 0, castPorosity: 0.3, porosity: 0.2 }, opts)).toThrow(/cannot cast .*raise overlap/);
    expect(() => generateGrainElectrode({ particleDiameter: 1 }, opts)).toThrow(/under 2 voxels of 1 µm/);
  });

  it('refuses particles the domain cannot hold, naming its size (review 2026-12-07)', () => {
    // 30 µm particles in 8³ voxels of 2 µm once gave porosity 0.098 and no CBD, exit 0.
    const small = { seed: 1, size: [8, 8, 8] as Shape3, voxelSize: 2 };
    expect(() => generateGrainElectrode({ particleDiameter: 30 }, small)).toThrow(/particleDiameter 30 µm does not fit the domain: 8×8×8 voxels of 2 µm is 16 µm across in plane, which holds mean diameters ≤ 8 µm/);
  });
});

describe('packGrains (RSA with controlled overlap)', () => {
  it('keeps the requested log-normal size distribution (KS test) and never overlaps beyond the limit', () => {
    const rng = createRng(8);
    const r = packGrains([60, 60, 60], rng, { populations: [{ meanD: 6, cv: 0.3, share: 1, label: 1 }], targetVoxels: 0.3 * 60 ** 3, overlap: 0.1 });
    expect(r.reached).toBe(true);
    const d = r.grains.map((g) => 2 * g.r).sort((a, b) => a - b);
    let D = 0;
    d.forEach((x, i) => {
      const F = lognormalCdf(x, 6, 0.3);
      D = Math.max(D, Math.abs(F - i / d.length), Math.abs((i + 1) / d.length - F));
    });
    expect(D).toBeLessThan(1.63 / Math.sqrt(d.length));
    let worst = Infinity;
    for (let i = 0; i < r.grains.length; i++)
      for (let j = i + 1; j < r.grains.length; j++) {
        const a = r.grains[i];
        const b = r.grains[j];
        worst = Math.min(worst, Math.hypot(a.cx - b.cx, a.cy - b.cy, a.cz - b.cz) / (a.r + b.r));
      }
    expect(worst).toBeGreaterThanOrEqual(0.9);
    expect(worst).toBeLessThan(0.95);
  });
});

describe('spheroidal particles', () => {
  it('flakes lying flat have mean z-chords aspect × the x-chords (ellipsoid: mean chord = 4/3 semi-axis)', () => {
    const shape: Shape3 = [80, 80, 80];
    const r = packGrains(shape, createRng(3), { populations: [{ meanD: 16, cv: 0, share: 1, label: 1 }], targetVoxels: 0.06 * 80 ** 3, overlap: 0, aspect: 0.5 });
    // Mean length of solid runs along one axis, counting only runs that do not touch a face
    // (a face cuts particles and shortens their chords).
    const chord = (axis: 0 | 1 | 2) => {
      const stride = [80 * 80, 80, 1][axis];
      let runs = 0;
      let len = 0;
      for (let a = 0; a < 80; a++)
        for (let b = 0; b < 80; b++) {
          const base = axis === 0 ? a * 80 + b : axis === 1 ? a * 6400 + b : a * 6400 + b * 80;
          let run = 0;
          let start = 0;
          for (let k = 0; k <= 80; k++) {
            const solid = k < 80 && r.data[base + k * stride] === 1;
            if (solid) {
              if (run === 0) start = k;
              run++;
            } else if (run > 0) {
              if (start > 0 && k < 80) {
                runs++;
                len += run;
              }
              run = 0;
            }
          }
        }
      return len / runs;
    };
    const cz = chord(2);
    const cx = chord(0);
    expect(cz / cx).toBeGreaterThan(0.45);
    expect(cz / cx).toBeLessThan(0.55);
    expect(cx).toBeGreaterThan(0.95 * (4 / 3) * 8);
    expect(cx).toBeLessThan(1.05 * (4 / 3) * 8);
  });

  it('generates a flake electrode at the requested porosity', () => {
    const out = generateGrainElectrode({ aspectRatio: 0.5, particleDiameter: 10 }, { ...opts, size: [48, 48, 32] });
    expect(Math.abs(out.achieved.porosity - 0.3)).toBeLessThanOrEqual(0.01);
  });
});
