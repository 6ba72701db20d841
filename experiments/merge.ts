/**
 * The checks shared by the benches' `--merge` (experiments/bench-scale.ts, issue #21;
 * experiments/bench-multiobjective.ts, issue #16): one report made from the JSON of runs made as
 * concurrent processes (seed ranges, problems) on a loaded machine. It is one run only when every
 * part ran the same code with the same settings, no run is in two parts, and everything the
 * report compares covers the same seeds (#21 review: a merge of sync on seeds 1–10 with async on
 * 11–20 compared different seeds; #16 review: qNEHVI 1–20 against ParEGO 1–10 did too).
 * Every failed check is an error naming the bench, the parts or groups and the values.
 */
import { existsSync, readFileSync } from 'node:fs';

/** The parsed JSON of one part; `bench` (e.g. 'bench scale --merge') prefixes the errors. */
export function readPart<T>(file: string, bench: string): T {
  if (!existsSync(file)) throw new Error(`${bench}: no ${file}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${bench}: ${file} is not JSON (${(e as Error).message})`);
  }
}

/** The one value of `key` that every part has (compared as JSON); parts that differ are refused. */
export function agreed<P, T>(parts: readonly P[], what: string, key: (p: P) => T, bench: string): T {
  const vs = [...new Set(parts.map((p) => JSON.stringify(key(p))))];
  if (vs.length !== 1) throw new Error(`${bench}: the runs differ in ${what} (${vs.join(' / ')}): only runs of the same code and settings make one report`);
  return key(parts[0]);
}

/** A run (as a key) that is in more than one part, refused. */
export function refuseDuplicates(keys: readonly string[], bench: string): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw new Error(`${bench}: ${k} is in more than one of the runs merged`);
    seen.add(k);
  }
}

/**
 * The seeds of `scope` (sorted): every group (a loop, a problem's agent) must cover exactly the
 * same consecutive seeds, so that they are compared seed by seed and the report's seed range is
 * every group's. No groups: no seeds.
 */
export function sameSeeds(groups: readonly { name: string; seeds: readonly number[] }[], scope: string, bench: string): number[] {
  const all = [...new Set(groups.flatMap((g) => g.seeds))].sort((a, b) => a - b);
  if (all.some((x, i) => x !== all[0] + i)) throw new Error(`${bench}: the seeds of ${scope} are not consecutive (${all.join(', ')})`);
  for (const g of groups) {
    const mine = [...g.seeds].sort((a, b) => a - b);
    if (mine.join() !== all.join()) throw new Error(`${bench}: ${g.name} of ${scope} covers seeds ${mine.join(', ') || 'none'}, not ${scope}'s seeds ${all.join(', ')}: every one needs every seed to be compared seed by seed`);
  }
  return all;
}
