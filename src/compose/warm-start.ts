import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import type { Parameters, ParameterSpace } from '../core/protocols.js';
import { isFeasible } from '../core/space.js';
import type { Ledger } from '../ledger/ledger.js';

/**
 * Warm start (issue #19): a lab's earlier measurements enter a campaign as real observations
 * before its first round. The CSV's header names the space's parameters (every one of them),
 * properties the campaign measures (`rigs.measure`, `predict.properties`), optionally `feasible`
 * (true/false/1/0; default true) and columns to ignore, whose names start with `#` (notes,
 * sample ids). Any other column is refused: a header that names a property the campaign does
 * not know (`Score (a.u.)` for `score`) gave every row a null reward without a word (import
 * review #1). Each row becomes one ObservationImported document — a completed rig-fidelity
 * trial of round 0, agent "import" — carrying the file, its sha256 and the row number, so
 * every number the agent learns from can be traced back to the line it came from. Keys make
 * the import idempotent: a resumed or restarted import writes nothing twice.
 */

export interface WarmStartRow {
  /** Data row, 1 = the first after the header (the row of `source` and of the trial id). */
  row: number;
  /** The file's line the row starts on (blank lines counted), for messages. */
  line: number;
  params: Parameters;
  measured: Record<string, number>;
  feasible: boolean;
  /** The campaign's reward of the row: finite or −∞ for a feasible row, NaN for an infeasible one. */
  reward: number;
}

/** One CSV record and the line it starts on (1-based; blank lines counted). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** RFC 4180 CSV: commas, double-quoted fields with "" escapes, CRLF or LF; blank lines skipped. */
export function parseCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const end = () => {
    row.push(field);
    if (row.some((f) => f.trim() !== '')) records.push({ line: rowLine, cells: row });
    row = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    // A line break inside a quoted field (CRLF counted once) moves the line, not the record.
    if (quoted && (ch === '\n' || (ch === '\r' && text[i + 1] !== '\n'))) line++;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      end();
      rowLine = ++line;
    } else field += ch;
  }
  end();
  return records;
}

/** The cells of each record (parseCsvRecords without line numbers). */
export function parseCsv(text: string): string[][] {
  return parseCsvRecords(text).map((r) => r.cells);
}

/**
 * A decimal number as a lab writes it (`12`, `-0.5`, `.5`, `1e-3`): Number() also takes
 * `0x1`, `0b1`, `0o7` and `Infinity`, which in a measurement file are typos, not values
 * (import review #1: `0x1` was read as 1).
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
function decimal(cell: string): number | undefined {
  return DECIMAL.test(cell) ? Number(cell) : undefined;
}

/** A validated warm-start CSV: read in full before the campaign writes anything (issue #19 review). */
export interface WarmStart {
  path: string;
  rows: WarmStartRow[];
  sha256: string;
}

/** What the campaign measures and how it scores a row: the columns a CSV may have besides the parameters, and its reward. */
export interface WarmStartCampaign {
  properties: readonly string[];
  rewardOf: (measured: Record<string, number>, params: Parameters) => number;
}

/** What a warm-start column gives (readWarmStart). */
type Column = { kind: 'param' | 'property' | 'ambiguous'; name: string } | { kind: 'feasible' | 'ignored' | 'unknown' };

export function readWarmStart(path: string, space: ParameterSpace, campaign: WarmStartCampaign): WarmStart {
  if (!existsSync(path)) throw new BadInputError('file not found', `warmStart.csv ${path}`);
  const bytes = readFileSync(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const table = parseCsvRecords(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  if (table.length < 2) throw new BadInputError('expected a header row and at least one data row', path);
  const header = table[0].cells.map((h) => h.trim());
  const specs = new Map(space.parameters.map((p) => [p.name, p]));
  const known = new Set(campaign.properties);
  const dup = header.find((h, i) => h !== '' && header.indexOf(h) !== i);
  if (dup) throw new BadInputError(`column "${dup}" appears twice`, path);
  // A blank header cell is ignored like a # column (review 2026-12-07): a trailing comma, as
  // Excel writes, was refused as column "" once unknown columns were.
  const ignored = (h: string) => h === '' || h.startsWith('#');
  // What each column gives (library review 2026-12-07, item 2). A bare name that is a parameter
  // and a measured property (porosity: the recipe's nominal value, and what the rig measured)
  // is refused: read as the parameter, the row's reward used the nominal value where a rig
  // trial's uses the measured one (src/reward/scope.ts: the property wins), and the measured
  // value could not be given at all. `param_<name>` and `meas_<name>`, the headers `poreloop
  // export` writes, say which; they are accepted for every parameter and property.
  const columns = header.map((h): Column => {
    if (ignored(h)) return { kind: 'ignored' };
    if (h === 'feasible') return { kind: 'feasible' };
    if (specs.has(h) && known.has(h)) return { kind: 'ambiguous', name: h };
    if (specs.has(h)) return { kind: 'param', name: h };
    if (known.has(h)) return { kind: 'property', name: h };
    if (h.startsWith('param_') && specs.has(h.slice(6))) return { kind: 'param', name: h.slice(6) };
    if (h.startsWith('meas_') && known.has(h.slice(5))) return { kind: 'property', name: h.slice(5) };
    return { kind: 'unknown' };
  });
  const ambiguous = header.filter((_, i) => columns[i].kind === 'ambiguous');
  if (ambiguous.length) {
    throw new BadInputError(
      ambiguous.map((h) => `column "${h}" names both a parameter of the space and a property this campaign measures; name the recipe's value param_${h} and the measured value meas_${h}`).join('; ') +
        ' (the headers poreloop export writes). The reward reads the measured value where there is one, as for rig trials',
      path,
    );
  }
  columns.forEach((c, i) => {
    if (c.kind !== 'param' && c.kind !== 'property') return;
    const first = columns.findIndex((o) => o.kind === c.kind && 'name' in o && o.name === c.name);
    if (first !== i) throw new BadInputError(`columns "${header[first]}" and "${header[i]}" both give ${c.kind === 'param' ? 'parameter' : 'property'} ${c.name}; keep one`, path);
  });
  const paramColumn = (n: string) => (known.has(n) ? `param_${n}` : n);
  const missing = [...specs.keys()].filter((n) => !columns.some((c) => c.kind === 'param' && c.name === n));
  if (missing.length) {
    throw new BadInputError(
      `no column for parameter${missing.length > 1 ? 's' : ''} ${missing.map(paramColumn).join(', ')}; the header must name every parameter of the space (${[...specs.keys()].map(paramColumn).join(', ')}; param_<name> is accepted for any of them)`,
      path,
    );
  }
  const unknown = header.filter((_, i) => columns[i].kind === 'unknown');
  if (unknown.length) {
    throw new BadInputError(
      `column${unknown.length > 1 ? 's' : ''} ${unknown.map((h) => JSON.stringify(h)).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} neither a parameter nor a property this campaign measures. ` +
        `Allowed columns: parameters ${[...specs.keys()].map(paramColumn).join(', ')}; properties ${[...known].map((n) => (specs.has(n) ? `meas_${n}` : n)).join(', ') || '(none)'}; ` +
        'either with the prefix param_ or meas_ that poreloop export writes; feasible; ' +
        'and columns to ignore, named with a leading # (e.g. "#notes")',
      path,
    );
  }
  if (!columns.some((c) => c.kind === 'property')) throw new BadInputError(`no measured property columns: besides the parameters the header must name what was measured (${[...known].map((n) => (specs.has(n) ? `meas_${n}` : n)).join(', ')})`, path);
  const rows: WarmStartRow[] = [];
  for (let r = 1; r < table.length; r++) {
    const { cells, line } = table[r];
    const where = `${path}: data row ${r} (line ${line})`;
    if (cells.length !== header.length) throw new BadInputError(`${cells.length} fields, the header has ${header.length}`, where);
    const params: Parameters = {};
    const measured: Record<string, number> = {};
    let feasible = true;
    header.forEach((h, i) => {
      const cell = cells[i].trim();
      const c = columns[i];
      const spec = c.kind === 'param' ? specs.get(c.name) : undefined;
      if (spec) {
        if (spec.kind === 'categorical') {
          const value = spec.values.find((v) => String(v) === cell);
          if (value === undefined) throw new BadInputError(`${h} = "${cell}" is not one of ${spec.values.join(', ')}`, where);
          params[spec.name] = value;
        } else {
          const v = decimal(cell);
          if (v === undefined || !Number.isFinite(v)) throw new BadInputError(`${h} = "${cell}" is not a decimal number`, where);
          params[spec.name] = v;
        }
      } else if (c.kind === 'feasible') {
        if (!/^(true|false|1|0|yes|no|)$/i.test(cell)) throw new BadInputError(`feasible = "${cell}": expected true/false/1/0`, where);
        feasible = !/^(false|0|no)$/i.test(cell);
      } else if (c.kind === 'property' && cell !== '') {
        const v = decimal(cell);
        if (v === undefined || !Number.isFinite(v)) throw new BadInputError(`${h} = "${cell}" is not a decimal number (leave the cell empty when it was not measured)`, where);
        measured[c.name] = v;
      }
    });
    const check = isFeasible(space, params);
    if (!check.ok) throw new BadInputError(`outside the campaign's space: ${check.violations.join('; ')}`, where);
    // A feasible row the reward cannot score would enter as a completed trial with a null
    // reward, silently (import review #1): refused, saying why. An infeasible row has none.
    let reward = Number.NaN;
    if (feasible) {
      const got = Object.entries(measured).map(([k, v]) => `${k} = ${v}`).join(', ') || 'none';
      try {
        reward = campaign.rewardOf(measured, params);
      } catch (e) {
        throw new BadInputError(`the campaign's reward cannot be computed (${(e as Error).message}; measured: ${got}); give the property, or mark the row feasible = false`, where, { cause: e });
      }
      // −∞ is computable and terrible (log10 of a conductivity of 0), data the agents and the
      // reality model learn as the stand-in below the worst finite reward (1a3f5e9, a367575;
      // review 2026-12-07): it enters, and is recomputed from the measurements when read back
      // (the runtime's measuredRewardOf), as JSON stores it as null. The reward is maximised, so
      // +∞ would be a best result no measurement gives, and NaN is not computable.
      if (Number.isNaN(reward) || reward === Infinity) throw new BadInputError(`the campaign's reward of this row is ${reward} (measured: ${got}); every feasible row needs a reward that is finite or −∞ — give the missing property, or mark the row feasible = false`, where);
    }
    rows.push({ row: r, line, params, measured, feasible, reward });
  }
  return { path, rows, sha256 };
}

/**
 * Appends one ObservationImported per row of an already validated CSV (in one transaction,
 * joining the caller's); returns how many are new. Trial ids carry the campaign id, as
 * proposals' do (runtime.ts): ids are unique across the ledger, so the same CSV can seed any number of campaigns in one ledger.
 */
export function importWarmStart(
  ledger: Ledger,
  campaignId: string,
  warm: WarmStart,
): number {
  const { path, rows, sha256 } = warm;
  let added = 0;
  ledger.transaction(() => {
    for (const r of rows) {
      const key = `import:${sha256.slice(0, 16)}:${r.row}`;
      if (ledger.hasDocument(campaignId, 'ObservationImported', key)) continue;
      ledger.append(
        campaignId,
        'ObservationImported',
        { trialId: `${campaignId}-import-${r.row}`, index: r.row, params: r.params, measured: r.measured, reward: r.reward, feasible: r.feasible, source: { file: path, sha256, row: r.row } },
        key,
      );
      added++;
    }
  });
  return added;
}
