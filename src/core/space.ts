/**
 * Parameter spaces (DESIGN.md, "ParameterSpace"): the map between manufacturing units and the
 * unit cube [0,1]^d in which every agent searches, plus feasibility, constraint repair, finite
 * candidate pools and their CSV form. Pure; imports only src/core.
 *
 * Encoding (one coordinate per continuous/integer parameter, one per category):
 * - continuous: affine (min → 0, max → 1); with `log: true`, affine in ln(value), so a decade
 *   takes the same share of the cube wherever it lies (min must be > 0).
 * - integer: n = max − min + 1 equal-width bins; value v sits at its bin centre
 *   (v − min + ½)/n, and decode takes floor(u·n). Equal bins make a uniform u pick each integer
 *   with probability 1/n (rounding min + u·(max − min) would halve the end values).
 * - categorical: one-hot, one coordinate per value; decode takes the arg-max (first on ties).
 *   One-hot rather than ordinal because categories have no order, and a distance-based model
 *   (the GP of gp-bo) then sees every pair of categories at the same distance.
 */
import { BadInputError } from './errors.js';
import type { LinearConstraint, ParamValue, ParameterSpace, ParameterSpec, Parameters } from './protocols.js';
import type { Rng } from './rng.js';

/** Number of coordinates of the encoded space. */
export function dimension(space: ParameterSpace): number {
  let d = 0;
  for (const p of space.parameters) d += p.kind === 'categorical' ? p.values.length : 1;
  return d;
}

/**
 * The encoded coordinates of the continuous and integer parameters (one each, in encoding order),
 * leaving out the one-hot coordinates of categoricals: what gp-bo's Kumaraswamy input warp bends
 * (src/surrogate/input-warp.ts; a warp of a two-valued column is only a rescaling, issue #12).
 */
export function numericColumns(space: ParameterSpace): number[] {
  const out: number[] = [];
  let k = 0;
  for (const p of space.parameters) {
    if (p.kind === 'categorical') k += p.values.length;
    else out.push(k++);
  }
  return out;
}

/** Checks a space definition; throws BadInputError naming the first problem. */
export function validateSpace(space: ParameterSpace, where = 'space'): void {
  if (!Array.isArray(space.parameters) || space.parameters.length === 0) {
    throw new BadInputError('needs at least one parameter', where);
  }
  const names = new Set<string>();
  for (const p of space.parameters) {
    const at = `${where}.${p.name}`;
    if (!p.name) throw new BadInputError('every parameter needs a non-empty name', where);
    if (names.has(p.name)) throw new BadInputError('duplicate parameter name', at);
    names.add(p.name);
    if (p.kind === 'categorical') {
      if (p.values.length === 0) throw new BadInputError('a categorical parameter needs at least one value', at);
      continue;
    }
    if (!Number.isFinite(p.min) || !Number.isFinite(p.max) || p.min > p.max) {
      throw new BadInputError(`bounds must be finite numbers with min <= max (got ${p.min}, ${p.max})`, at);
    }
    if (p.kind === 'integer' && (!Number.isInteger(p.min) || !Number.isInteger(p.max))) {
      throw new BadInputError('integer bounds must be integers', at);
    }
    if (p.kind === 'continuous' && p.log && p.min <= 0) throw new BadInputError('log scale needs min > 0', at);
  }
  for (const [i, c] of (space.constraints ?? []).entries()) {
    for (const name of Object.keys(c.coefficients)) {
      if (!names.has(name)) throw new BadInputError(`constraint names unknown parameter '${name}'`, `${where}.constraints[${i}]`);
    }
  }
}

const clamp01 = (u: number): number => (Number.isFinite(u) ? Math.min(1, Math.max(0, u)) : 0.5);

function encodeNumber(p: Exclude<ParameterSpec, { kind: 'categorical' }>, v: number): number {
  if (p.kind === 'integer') return (v - p.min + 0.5) / (p.max - p.min + 1);
  if (p.max === p.min) return 0.5;
  if (p.log) return (Math.log(v) - Math.log(p.min)) / (Math.log(p.max) - Math.log(p.min));
  return (v - p.min) / (p.max - p.min);
}

/** Parameters → point of [0,1]^d (values outside the bounds map outside the cube). */
export function encode(space: ParameterSpace, params: Parameters): number[] {
  const u: number[] = [];
  for (const p of space.parameters) {
    const v = params[p.name];
    if (v === undefined) throw new BadInputError(`missing parameter '${p.name}'`, 'params');
    if (p.kind === 'categorical') {
      const j = categoryIndex(p.values, v);
      if (j < 0) throw new BadInputError(`'${String(v)}' is not one of ${JSON.stringify(p.values)}`, `params.${p.name}`);
      for (let i = 0; i < p.values.length; i++) u.push(i === j ? 1 : 0);
    } else {
      const x = typeof v === 'number' ? v : Number(v);
      if (!Number.isFinite(x)) throw new BadInputError(`must be a number (got '${String(v)}')`, `params.${p.name}`);
      u.push(encodeNumber(p, x));
    }
  }
  return u;
}

/** Point of the cube → Parameters: clamps into [0,1], rounds integers, snaps categoricals. */
export function decode(space: ParameterSpace, u: readonly number[]): Parameters {
  const out: Parameters = {};
  let i = 0;
  for (const p of space.parameters) {
    if (p.kind === 'categorical') {
      let best = 0;
      for (let j = 1; j < p.values.length; j++) if (u[i + j] > u[i + best]) best = j;
      out[p.name] = p.values[best];
      i += p.values.length;
      continue;
    }
    const x = clamp01(u[i++]);
    if (p.kind === 'integer') {
      const n = p.max - p.min + 1;
      out[p.name] = p.min + Math.min(n - 1, Math.floor(x * n));
    } else if (p.log && p.max > p.min) {
      out[p.name] = Math.min(p.max, Math.max(p.min, Math.exp(Math.log(p.min) + x * (Math.log(p.max) - Math.log(p.min)))));
    } else {
      out[p.name] = p.min + x * (p.max - p.min);
    }
  }
  return out;
}

/** Uniform draw from the cube, decoded (not repaired: call `repair` for constrained spaces). */
export function sampleUniform(space: ParameterSpace, rng: Rng): Parameters {
  const u: number[] = [];
  for (let i = dimension(space); i > 0; i--) u.push(rng.next());
  return decode(space, u);
}

function categoryIndex(values: readonly ParamValue[], v: ParamValue): number {
  const j = values.indexOf(v);
  if (j >= 0) return j;
  // A CSV cell '1' and a declared value 1 name the same category.
  return values.findIndex((x) => String(x) === String(v));
}

function constraintTolerance(c: LinearConstraint): number {
  return c.tolerance ?? 1e-9 * Math.max(1, Math.abs(c.rhs));
}

function constraintLhs(c: LinearConstraint, params: Parameters): number {
  let s = 0;
  for (const [name, a] of Object.entries(c.coefficients)) s += a * Number(params[name]);
  return s;
}

function constraintHolds(c: LinearConstraint, params: Parameters): boolean {
  const lhs = constraintLhs(c, params);
  const tol = constraintTolerance(c);
  return c.op === '==' ? Math.abs(lhs - c.rhs) <= tol : c.op === '<=' ? lhs <= c.rhs + tol : lhs >= c.rhs - tol;
}

function describeConstraint(c: LinearConstraint): string {
  const lhs = Object.entries(c.coefficients).map(([n, a]) => (a === 1 ? n : `${a}*${n}`)).join(' + ');
  return `${lhs} ${c.op} ${c.rhs}`;
}

/** Bounds, integrality, categories, linear/sum constraints and (for pools) pool membership. */
export function isFeasible(space: ParameterSpace, params: Parameters): { ok: boolean; violations: string[] } {
  const violations: string[] = [];
  const known = new Set(space.parameters.map((p) => p.name));
  for (const name of Object.keys(params)) if (!known.has(name)) violations.push(`${name}: not a parameter of this space`);
  for (const p of space.parameters) {
    const v = params[p.name];
    if (v === undefined) {
      violations.push(`${p.name}: missing`);
      continue;
    }
    if (p.kind === 'categorical') {
      if (categoryIndex(p.values, v) < 0) violations.push(`${p.name}: '${String(v)}' is not one of ${JSON.stringify(p.values)}`);
      continue;
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      violations.push(`${p.name}: must be a finite number`);
      continue;
    }
    if (v < p.min || v > p.max) violations.push(`${p.name}: ${v} outside [${p.min}, ${p.max}]`);
    if (p.kind === 'integer' && !Number.isInteger(v)) violations.push(`${p.name}: ${v} is not an integer`);
  }
  if (violations.length === 0) {
    for (const c of space.constraints ?? []) {
      if (!constraintHolds(c, params)) violations.push(`constraint ${describeConstraint(c)} violated (left side ${constraintLhs(c, params)})`);
    }
  }
  if (violations.length === 0 && space.pool && !poolKeys(space.pool).has(paramKey(params))) {
    violations.push('not a point of the candidate pool');
  }
  return { ok: violations.length === 0, violations };
}

/**
 * Euclidean projection of the free (continuous) coordinates y onto {l ≤ x ≤ u, a·x (op) b}.
 * KKT: x(λ) = clip(y − λa, l, u) and a·x(λ) is non-increasing in λ, so bisection on λ finds
 * the multiplier (the classic simplex/box projection, e.g. Held, Wolfe & Crowder 1974).
 */
function projectOne(y: number[], a: number[], lo: number[], hi: number[], op: LinearConstraint['op'], b: number): number[] {
  const n = y.length;
  const dotAt = (lam: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * Math.min(hi[i], Math.max(lo[i], y[i] - lam * a[i]));
    return s;
  };
  const at = (lam: number): number[] => y.map((v, i) => Math.min(hi[i], Math.max(lo[i], v - lam * a[i])));
  const s0 = dotAt(0);
  if ((op === '<=' && s0 <= b) || (op === '>=' && s0 >= b) || s0 === b) return at(0);
  // Need λ > 0 to decrease a·x, λ < 0 to increase it.
  const sign = s0 > b ? 1 : -1;
  let lamLo = 0;
  let lamHi = 1;
  for (let k = 0; k < 200 && sign * (dotAt(sign * lamHi) - b) > 0; k++) lamHi *= 2;
  for (let k = 0; k < 200 && lamHi - lamLo > 1e-15 * Math.max(1, lamHi); k++) {
    const mid = 0.5 * (lamLo + lamHi);
    if (sign * (dotAt(sign * mid) - b) > 0) lamLo = mid;
    else lamHi = mid;
  }
  return at(sign * lamHi);
}

/**
 * Clamps into the bounds and projects the continuous parameters onto the linear constraints
 * (integers and categoricals count as fixed). Several constraints are met by cyclic
 * projections (converges to a point of the intersection for convex sets; Bregman 1965).
 * The result can still be infeasible (an empty intersection, or a constraint on integers only):
 * callers check `isFeasible` and discard what it rejects.
 */
export function repair(space: ParameterSpace, params: Parameters): Parameters {
  const out: Parameters = { ...params };
  for (const p of space.parameters) {
    const v = out[p.name];
    if (p.kind !== 'categorical' && typeof v === 'number' && Number.isFinite(v)) {
      out[p.name] = Math.min(p.max, Math.max(p.min, p.kind === 'integer' ? Math.round(v) : v));
    }
  }
  const constraints = space.constraints ?? [];
  if (constraints.length === 0) return out;
  const free = space.parameters.filter((p): p is Extract<ParameterSpec, { kind: 'continuous' }> => p.kind === 'continuous');
  for (let sweep = 0; sweep < 100; sweep++) {
    let worst = 0;
    for (const c of constraints) {
      const names = free.filter((p) => c.coefficients[p.name] !== undefined);
      if (names.length === 0) continue;
      let fixed = 0;
      for (const [n, a] of Object.entries(c.coefficients)) if (!names.some((p) => p.name === n)) fixed += a * Number(out[n]);
      const y = names.map((p) => Number(out[p.name]));
      const x = projectOne(y, names.map((p) => c.coefficients[p.name]), names.map((p) => p.min), names.map((p) => p.max), c.op, c.rhs - fixed);
      names.forEach((p, i) => {
        worst = Math.max(worst, Math.abs(x[i] - y[i]));
        out[p.name] = x[i];
      });
    }
    if (worst < 1e-13 || constraints.every((c) => constraintHolds(c, out))) break;
  }
  return out;
}

const poolKeyCache = new WeakMap<readonly Parameters[], Set<string>>();

/** The paramKeys of a pool, computed once per pool array (pools are not mutated in place). */
export function poolKeys(pool: readonly Parameters[]): Set<string> {
  let keys = poolKeyCache.get(pool);
  if (!keys) {
    keys = new Set(pool.map(paramKey));
    poolKeyCache.set(pool, keys);
  }
  return keys;
}

/** Stable identity of a point for de-duplication: sorted names, canonical numbers. */
export function paramKey(params: Parameters): string {
  return JSON.stringify(
    Object.keys(params)
      .sort()
      .map((k) => {
        const v = params[k];
        return [k, typeof v === 'number' ? (Object.is(v, -0) ? 0 : v) : `s:${v}`];
      }),
  );
}

/** Splits one CSV line (RFC 4180 quoting: "a,b" and "" for a quote). */
function splitCsvLine(line: string): string[] | null {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quoted) return null;
  cells.push(cur);
  return cells.map((c) => c.trim());
}

/**
 * A candidate pool from CSV text: a header row of parameter names, then one point per row.
 * Cells that read as finite numbers become numbers; others stay strings (categories).
 * Blank lines are skipped. Throws BadInputError naming `where` and the row for anything else.
 */
export function parsePoolCsv(text: string, where: string): Parameters[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let li = 0;
  while (li < lines.length && lines[li].trim() === '') li++;
  if (li === lines.length) throw new BadInputError('empty pool: expected a header row of parameter names, then one row per candidate', where);
  const header = splitCsvLine(lines[li]);
  if (!header || header.some((h) => h === '')) throw new BadInputError('header row must name every column (no empty names, balanced quotes)', `${where}:${li + 1}`);
  if (new Set(header).size !== header.length) throw new BadInputError(`duplicate column name in header ${JSON.stringify(header)}`, `${where}:${li + 1}`);
  const rows: Parameters[] = [];
  for (let i = li + 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = splitCsvLine(lines[i]);
    if (!cells) throw new BadInputError('unbalanced quote', `${where}:${i + 1}`);
    if (cells.length !== header.length) {
      throw new BadInputError(`expected ${header.length} cells (${header.join(', ')}), got ${cells.length}`, `${where}:${i + 1}`);
    }
    const row: Parameters = {};
    cells.forEach((c, j) => {
      if (c === '') throw new BadInputError(`empty cell in column '${header[j]}'`, `${where}:${i + 1}`);
      const x = Number(c);
      row[header[j]] = Number.isFinite(x) ? x : c;
    });
    rows.push(row);
  }
  if (rows.length === 0) throw new BadInputError('pool has a header but no rows', where);
  return rows;
}

/**
 * Whether `v` lies in a trained range, with a relative margin of 1e-9 for values that went
 * through decimal text (a config, a pool CSV). One rule for the config loader and for
 * generation (issue #19 review), so a value the loader accepts is never refused mid-campaign.
 */
export function insideTrainedRange(range: { min: number; max: number }, v: number): boolean {
  const tol = 1e-9 * Math.max(1, Math.abs(range.max));
  return v >= range.min - tol && v <= range.max + tol;
}
