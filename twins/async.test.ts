import { describe, expect, it } from 'vitest';
import { BadInputError } from '../src/core/errors.js';
import type { Shape3 } from '../src/core/protocols.js';
import { generateTwinAsync } from './async.js';
import { twinRegistry } from './index.js';

const opts = { seed: 7, size: [64, 64, 48] as Shape3, voxelSize: 2 };

describe('generateTwinAsync', () => {
  it('generates in a worker thread with the same bytes, keeping the event loop free', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const progress: string[] = [];
    const a = await generateTwinAsync('fibre-gdl', { ptfeLoading: 10 }, { ...opts, workerAbove: 0, onProgress: (_f, s) => progress.push(s) });
    clearInterval(timer);
    expect(a.thread).toBe('worker');
    expect(ticks).toBeGreaterThan(0);
    expect(progress).toContain('ptfe-treat');
    const b = twinRegistry['fibre-gdl']().generate({ ptfeLoading: 10 }, opts);
    expect(Buffer.from(a.voxels.data).equals(Buffer.from(b.voxels.data))).toBe(true);
    expect(a.achieved).toEqual(b.achieved);
  });

  it('runs small volumes inline and passes bad input on as BadInputError', async () => {
    expect((await generateTwinAsync('sofc-anode', {}, { ...opts, voxelSize: 0.2 })).thread).toBe('inline');
    await expect(generateTwinAsync('fibre-gdl', { porosity: 2 }, { ...opts, workerAbove: 0 })).rejects.toThrow(BadInputError);
    await expect(generateTwinAsync('fibre-gdl', { porosity: 2 }, { ...opts, workerAbove: 0 })).rejects.toThrow(/params.porosity: .*allowed 0.5 … 0.95/);
  });
});
