import { describe, expect, it } from 'vitest';
import { BadInputError } from '../core/errors.js';
import { parseCubeSize } from './common.js';

describe('parseCubeSize (--size of reconstruct sam|gan generate)', () => {
  it('takes n as a cube and nx,ny,nz (or nxXnyXnz) as given', () => {
    expect(parseCubeSize('64')).toEqual([64, 64, 64]);
    expect(parseCubeSize(32)).toEqual([32, 32, 32]);
    expect(parseCubeSize('20,12,9')).toEqual([20, 12, 9]);
    expect(parseCubeSize('20x12×9')).toEqual([20, 12, 9]);
  });

  it('refuses anything else, naming the flag and what is allowed', () => {
    for (const bad of ['0', '1.5', '20,12', '20,12,9,4', 'abc', '-3']) {
      expect(() => parseCubeSize(bad)).toThrow(BadInputError);
      expect(() => parseCubeSize(bad)).toThrow(/expected n or nx,ny,nz/);
    }
  });
});
