import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BadInputError } from '../core/errors.js';
import type { Parameters, ParameterSpace } from '../core/protocols.js';
import { isFeasible } from '../core/space.js';
import type { Ledger } from '../ledger/ledger.js';

/**
 * Warm start (issue #19): a lab's earlier measurements enter a campaign as real observations
 * before its first round. The CSV's header names the space's parameters (every one of them),
 * measured properties (any other column) and optionally `feasible` (true/false/1/0; default
 * true). Each row becomes one ObservationImported document — a completed rig-fidelity trial of
 * round 0, agent "import" — carrying the file, its sha256 and the row number, so every number
 * the agent learns from can be traced back to the line it came from. Keys make the import
 * idempotent: a resumed or restarted import writes nothing twice.
 */

export interface WarmStartRow {
  row: number;
  params: Parameters;
  measured: Record<string, number>;
  feasible: boolean;
}

/** RFC 4180 CSV: commas, double-quoted fields with "" escapes, CRLF or LF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') row.push(field), (field = '');
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** A validated warm-start CSV: read in full before the campaign writes anything (issue #19 review). */
export interface WarmStart {
  path: string;
  rows: WarmStartRow[];
  sha256: string;
}

export function readWarmStart(path: string, space: ParameterSpace): WarmStart {
  if (!existsSync(path)) throw new BadInputError('file not found', `warmStart.csv ${path}`);
  const bytes = readFileSync(path);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const table = parseCsv(bytes.toString('utf8').replace(/^\uFEFF/, ''));
  if (table.length < 2) throw new BadInputError('expected a header row and at least one data row', path);
  const header = table[0].map((h) => h.trim());
  const specs = new Map(space.parameters.map((p) => [p.name, p]));
  const missing = [...specs.keys()].filter((n) => !header.includes(n));
  if (missing.length) throw new BadInputError(`no column for parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')}; the header must name every parameter of the space (${[...specs.keys()].join(', ')})`, path);
  const dup = header.find((h, i) => header.indexOf(h) !== i);
  if (dup) throw new BadInputError(`column "${dup}" appears twice`, path);
  const properties = header.filter((h) => !specs.has(h) && h !== 'feasible' && h !== '');
  if (properties.length === 0) throw new BadInputError('no measured property columns: besides the parameters the header must name what was measured', path);
  const rows: WarmStartRow[] = [];
  for (let r = 1; r < table.length; r++) {
    const cells = table[r];
    const where = `${path}: row ${r}`;
    if (cells.length !== header.length) throw new BadInputError(`${cells.length} fields, the header has ${header.length}`, where);
    const params: Parameters = {};
    const measured: Record<string, number> = {};
    let feasible = true;
    header.forEach((h, i) => {
      const cell = cells[i].trim();
      const spec = specs.get(h);
      if (spec) {
        if (spec.kind === 'categorical') {
          const value = spec.values.find((v) => String(v) === cell);
          if (value === undefined) throw new BadInputError(`${h} = "${cell}" is not one of ${spec.values.join(', ')}`, where);
          params[h] = value;
        } else {
          const v = Number(cell);
          if (cell === '' || !Number.isFinite(v)) throw new BadInputError(`${h} = "${cell}" is not a number`, where);
          params[h] = v;
        }
      } else if (h === 'feasible') {
        if (!/^(true|false|1|0|yes|no|)$/i.test(cell)) throw new BadInputError(`feasible = "${cell}": expected true/false/1/0`, where);
        feasible = !/^(false|0|no)$/i.test(cell);
      } else if (h !== '' && cell !== '') {
        const v = Number(cell);
        if (!Number.isFinite(v)) throw new BadInputError(`${h} = "${cell}" is not a number (leave the cell empty when it was not measured)`, where);
        measured[h] = v;
      }
    });
    const check = isFeasible(space, params);
    if (!check.ok) throw new BadInputError(`outside the campaign's space: ${check.violations.join('; ')}`, where);
    rows.push({ row: r, params, measured, feasible });
  }
  return { path, rows, sha256 };
}

/**
 * Appends one ObservationImported per row of an already validated CSV (in one transaction,
 * joining the caller's); returns how many are new. `rewardOf` is the campaign's reward of the
 * measured properties (NaN where they do not suffice, as for a rig result that lacks a property).
 * Trial ids carry the campaign id, as proposals' do (runtime.ts): ids are unique across the
 * ledger, so the same CSV can seed any number of campaigns in one ledger.
 */
export function importWarmStart(
  ledger: Ledger,
  campaignId: string,
  warm: WarmStart,
  rewardOf: (measured: Record<string, number>, params: Parameters) => number,
): number {
  const { path, rows, sha256 } = warm;
  let added = 0;
  ledger.transaction(() => {
    for (const r of rows) {
      let reward = Number.NaN;
      if (r.feasible) {
        try {
          reward = rewardOf(r.measured, r.params);
        } catch {
          reward = Number.NaN; // a property the reward needs was not measured in this row
        }
      }
      const key = `import:${sha256.slice(0, 16)}:${r.row}`;
      if (ledger.hasDocument(campaignId, 'ObservationImported', key)) continue;
      ledger.append(
        campaignId,
        'ObservationImported',
        { trialId: `${campaignId}-import-${r.row}`, index: r.row, params: r.params, measured: r.measured, reward, feasible: r.feasible, source: { file: path, sha256, row: r.row } },
        key,
      );
      added++;
    }
  });
  return added;
}
