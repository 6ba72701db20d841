// The GDL pool tasks of the multi-objective bench (issue #16): the mean pool's averaging, and
// gdl-twin (the run of record's task) unchanged by the mean pool's addition.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GDL_POOLS, gdlProblem, poolRows, poolSeed } from './bench-multiobjective.js';
import { hash32 } from '../src/core/rng.js';

const points = [{ porosity: 0.7 }, { porosity: 0.8 }, { porosity: 0.9 }];
// A stub twin: properties that depend on the seed only, so the expected statistics can be computed here.
const stub = async (_p: unknown, seed: number) => ({ limitingCurrent: seed % 1000, sigma_eff_z: (seed % 97) * 3 });

describe('bench multiobjective GDL pools', () => {
  it('a mean pool row is the mean of k realisations with fresh seeds, and its standard error', async () => {
    const rows = await poolRows(points, 4, stub);
    expect(rows).toHaveLength(3);
    for (const [i, row] of rows.entries()) {
      const seeds = [0, 1, 2, 3].map((r) => hash32(`gdl-pool:${i}:${r}`));
      expect(seeds).toEqual([0, 1, 2, 3].map((r) => poolSeed(4, i, r)));
      const v = seeds.map((s) => s % 1000);
      const mean = v.reduce((a, b) => a + b, 0) / 4;
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / 3);
      expect(row.params).toBe(points[i]);
      expect(row.limitingCurrent).toBeCloseTo(mean, 9);
      expect(row.se!.limitingCurrent).toBeCloseTo(sd / 2, 9);
        const w = seeds.map((s) => (s % 97) * 3);
      const wMean = w.reduce((a, b) => a + b, 0) / 4;
      expect(row.sigma_eff_z).toBeCloseTo(wMean, 9);
      expect(row.se!.sigma_eff_z).toBeCloseTo(Math.sqrt(w.reduce((a, b) => a + (b - wMean) ** 2, 0) / 3) / 2, 9);
    }
  });

  it('k = 1 is the single draw with gdl-twin’s seeds, no standard error', async () => {
    const rows = await poolRows(points, 1, stub);
    expect(rows.map((r) => r.limitingCurrent)).toEqual(points.map((_, i) => hash32(`gdl-pool:${i}`) % 1000));
    expect(rows.every((r) => r.se === undefined)).toBe(true);
  });

  it('a row with a failed realisation is left out', async () => {
    let calls = 0;
    const rows = await poolRows(points, 4, async (p, seed) => (++calls === 6 ? null : stub(p, seed)));
    expect(rows.map((r) => r.params)).toEqual([points[0], points[2]]);
    // The surviving rows keep their own recipe's seeds (row 2's, not row 1's).
    expect(rows[1].limitingCurrent).toBeCloseTo([0, 1, 2, 3].reduce((a, r) => a + (poolSeed(4, 2, r) % 1000), 0) / 4, 9);
  });

  it('gdl-twin loads its old pool file as before', () => {
    // The run of record's pool (commit 9f0d747), byte for byte, and the task it defines
    // (reference point and true hypervolume as in results/multiobjective.md).
    const file = new URL(`./results/${GDL_POOLS['gdl-twin'].file}`, import.meta.url);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe('943cd67e8784324613776e2783fc4568d6ca05a3898838e14f6d821b7dc4bbf4');
    expect(GDL_POOLS['gdl-twin']).toEqual({ file: 'multiobjective-gdl-pool.json', k: 1 });
    const p = gdlProblem('gdl-twin')!;
    expect(p.name).toBe('gdl-twin');
    expect(p.pool!.space.pool).toHaveLength(128);
    expect(p.ref).toEqual([37485.29541941188, 280.0773617459194]);
    expect(p.trueHv.toPrecision(6)).toBe('1.58043e+9');
    expect(gdlProblem()!.trueHv).toBe(p.trueHv);
  });

  it('gdl-twin-mean is its own task on the same 128 recipes', () => {
    const mean = gdlProblem('gdl-twin-mean')!;
    const single = gdlProblem('gdl-twin')!;
    expect(mean.name).toBe('gdl-twin-mean');
    expect(mean.pool!.space.pool).toEqual(single.pool!.space.pool);
    expect(mean.trueHv).not.toBe(single.trueHv);
    // The cached file the published run (results/multiobjective-gdl-mean.md, commit 0a9efb5) used, and its task.
    const file = new URL(`./results/${GDL_POOLS['gdl-twin-mean'].file}`, import.meta.url);
    expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe('6230f5daeed8f30b652b933961cf3a21662d3fa3381f068fc8ac05ade81a7d78');
    expect(mean.ref).toEqual([5946.44104593579, 259.5943106136382]);
    expect(mean.trueHv.toPrecision(6)).toBe('1.40131e+9');
  });
});
