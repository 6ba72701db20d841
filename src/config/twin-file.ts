import { existsSync, readFileSync, statSync } from 'node:fs';
import YAML from 'yaml';
import { BadInputError } from '../core/errors.js';
import type { Parameters } from '../core/protocols.js';

/**
 * A twin config file (configs/twins/*.yaml, and what `poreloop twin calibrate --out` writes):
 * { twin, params, size, voxelSize, seed }. One reader for `twin generate --config` and a
 * campaign's `twin.config` (review 2026-12-07, item 4: docs/calibration.md promised that
 * campaigns read the calibrated file, and nothing did), so both accept the same files.
 */
export interface TwinFile {
  twin?: string;
  params?: Parameters;
  size?: number | number[];
  voxelSize?: number;
  seed?: number;
}

export const TWIN_FILE_KEYS = ['twin', 'params', 'size', 'voxelSize', 'seed'] as const;

/** Reads and checks a twin config; errors name `path` (the file). Anything but TWIN_FILE_KEYS is an error. */
export function readTwinFile(path: string): TwinFile {
  if (!existsSync(path)) throw new BadInputError('file not found', path);
  if (!statSync(path).isFile()) throw new BadInputError('not a file (a twin config YAML is expected)', path);
  let doc: unknown;
  try {
    doc = YAML.parse(readFileSync(path, 'utf8'), { maxAliasCount: 100 });
  } catch (e) {
    throw new BadInputError(`not valid YAML (${(e as Error).message})`, path);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new BadInputError(`expected a mapping with ${TWIN_FILE_KEYS.join(', ')}`, path);
  for (const k of Object.keys(doc)) if (!(TWIN_FILE_KEYS as readonly string[]).includes(k)) throw new BadInputError(`unknown key "${k}"; allowed: ${TWIN_FILE_KEYS.join(', ')}`, path);
  const f = doc as TwinFile;
  if (f.params !== undefined && (typeof f.params !== 'object' || f.params === null || Array.isArray(f.params))) throw new BadInputError('params must be a mapping name: value', path);
  return f;
}
