import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { BadInputError } from '../core/errors.js';
import { redactSecrets } from '../core/redact.js';
import type { Ledger } from '../ledger/ledger.js';
import { campaignCharts, type Chart } from './charts.js';
import { campaignModel, type CampaignModel } from './model.js';
import { renderSvg, svgToPng } from './render.js';

/**
 * `poreloop report <campaign> --out dir` (issue #18): a static HTML page a scientist can attach
 * to a lab notebook — every plot inline as SVG (the page needs no other file, no script and no
 * network), each also written as <id>.svg and <id>.png beside it, the summary table, the
 * config and the provenance (config hash, seed, versions, ledger, when it was made).
 */

export interface ReportResult {
  dir: string;
  html: string;
  charts: Array<{ id: string; svg: string; png: string }>;
}

const esc = (s: unknown): string => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v).toPrecision(digits));

/** What an error of the --out folder, or of a file written in it, means to the person who named it. */
const OUT_ERRORS: Record<string, (path: string) => string> = {
  EEXIST: (path) => `${path} is an existing file`,
  EISDIR: (path) => `${path} is an existing folder`,
  ENOTDIR: (path) => `${path} lies under an existing file, not a folder`,
  EACCES: (path) => `${path} is not writable here (EACCES)`,
  EPERM: (path) => `${path} is not writable here (EPERM)`,
  ENOENT: (path) => `${path} or a folder above it vanished while the report was written (ENOENT)`,
};

/**
 * Runs `f`, turning a file-system error into bad input naming --out. `path` is what failed:
 * the folder, or the one file in it (a read-only index.html left from before) — naming the
 * folder then sent the operator to a folder that was writable (review of the --out mapping).
 */
function outPath<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    const why = OUT_ERRORS[(e as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw e;
    throw new BadInputError(`${why(path)}; --out names a folder (made when missing) for index.html and the plots`, '--out', { cause: e });
  }
}

export async function writeReport(ledger: Ledger, campaignId: string, outDir: string, now: () => Date = () => new Date()): Promise<ReportResult> {
  const model = campaignModel(ledger, campaignId);
  const charts = campaignCharts(model);
  // Errors of the folder are caught where they happen, not pre-checked (review of 0e10d79: a
  // check for an existing file missed `--out file/sub`, a folder not writable and races).
  outPath(outDir, () => mkdirSync(outDir, { recursive: true }));
  const write = (path: string, data: string | Uint8Array) => outPath(path, () => writeFileSync(path, data));
  const rendered: Array<{ chart: Chart; svg: string }> = [];
  const files: ReportResult['charts'] = [];
  for (const chart of charts) {
    const svg = await renderSvg(chart.spec);
    write(join(outDir, `${chart.id}.svg`), svg);
    write(join(outDir, `${chart.id}.png`), svgToPng(svg));
    write(join(outDir, `${chart.id}.vl.json`), JSON.stringify(chart.spec, null, 2) + '\n');
    rendered.push({ chart, svg });
    files.push({ id: chart.id, svg: join(outDir, `${chart.id}.svg`), png: join(outDir, `${chart.id}.png`) });
  }
  // The config as stored, less any password in a URL (broker mqtts://user:pw@host): the report is
  // meant to be shared (security review xss9, finding 4).
  const config = redactSecrets(ledger.campaign(campaignId)!.config);
  const html = reportHtml(model, rendered, config, { ledger: resolve(ledger.path), generatedAt: now().toISOString() });
  const htmlPath = join(outDir, 'index.html');
  write(htmlPath, html);
  return { dir: outDir, html: htmlPath, charts: files };
}

function reportHtml(m: CampaignModel, charts: Array<{ chart: Chart; svg: string }>, config: unknown, meta: { ledger: string; generatedAt: string }): string {
  const o = m.overview;
  // Trials that meet every threshold and outcome constraint first; those that miss one after
  // them, marked — they were ranked best by reward alone (dashboard review, 2026-12-07).
  const byReward = m.runs.filter((r) => r.reward !== null).sort((a, b) => b.reward! - a.reward!);
  const measured = [...byReward.filter((r) => r.unmet.length === 0), ...byReward.filter((r) => r.unmet.length > 0)];
  const facts: Array<[string, string]> = [
    ['status', `${o.status}${o.stopReason ? ` — ${o.stopReason}` : ''}`],
    ['rounds', String(o.rounds)],
    ['rig runs', `${o.rigRuns}${o.rigBudget !== null ? ` of ${o.rigBudget}` : ''}`],
    ['trials proposed', String(o.trials)],
    ['measured', `${o.completed} (${o.infeasible} infeasible), ${o.failed} failed, ${o.abandoned} abandoned${o.imported ? `; imported ${o.imported} (warm start)` : ''}`],
    ['best measured reward', num(m.runs.at(-1)?.best)],
    ['wall time', `${o.wallTimeS.toFixed(1)} s`],
    ['agent', o.agent],
    ['reward', o.reward ?? (o.objectives.length ? `objectives: ${o.objectives.map((x) => `${x.goal} ${x.name}`).join(', ')}` : '—')],
  ];
  const provenance: Array<[string, string]> = [
    ['campaign', o.id],
    ['config file', o.source],
    ['config sha256', o.configHash],
    ['seed', String(o.seed)],
    // Import review #4: where the imported (agent import) trials came from.
    ...m.imports.map((i) => ['warm start', `${i.file} (sha256 ${i.sha256}): data rows ${i.firstRow}–${i.lastRow}, ${i.rows} imported at rig fidelity`] as [string, string]),
    ...Object.entries(o.versions).map(([k, v]) => [`${k} version`, v] as [string, string]),
    ['ledger', meta.ledger],
    ['ledger documents up to seq', String(m.seq)],
    ['report generated', meta.generatedAt],
  ];
  const top = measured.slice(0, 10);
  const params = m.space.map((p) => p.name);
  const anyUnmet = top.some((r) => r.unmet.length > 0);
  const table = top.length
    ? `<table class="summary"><thead><tr><th>#</th><th>trial</th><th>round</th>${params.map((p) => `<th>${esc(p)}</th>`).join('')}<th>measured reward</th>${anyUnmet ? '<th>misses</th>' : ''}</tr></thead><tbody>` +
      top
        .map((r, i) => {
          const rank = r.unmet.length ? '—' : String(i + 1);
          const misses = anyUnmet ? `<td class="unmet">${esc(r.unmet.join('; '))}</td>` : '';
          return `<tr${r.unmet.length ? ' class="unmet"' : ''}><td>${rank}</td><td>${esc(r.trialId)}</td><td>${r.round}</td>${params.map((p) => `<td>${esc(typeof r.params[p] === 'number' ? num(r.params[p] as number, 3) : (r.params[p] ?? ''))}</td>`).join('')}<td>${num(r.reward)}</td>${misses}</tr>`;
        })
        .join('') +
      '</tbody></table>' +
      (anyUnmet ? '<p class="sub">Rows marked — miss a threshold or outcome constraint: no candidates, listed after those that meet them all.</p>' : '')
    : '<p>No trial has a feasible measured result yet.</p>';
  const front = paretoTable(m);
  const kv = (rows: Array<[string, string]>) => `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>poreloop report — ${esc(o.name)} (${esc(o.id)})</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;border-bottom:1px solid #eee}
table.summary td{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figcaption{color:#555;max-width:60em}pre{background:#f6f6f6;padding:1em;overflow:auto}
.sub{color:#666}tr.unmet td{color:#999}td.unmet{text-align:left}
</style></head><body>
<h1>${esc(o.name)}</h1><div class="sub">campaign ${esc(o.id)} · poreloop report</div>
<h2>Summary</h2>${kv(facts)}
<h2>Best trials (by measured reward, meeting every threshold and constraint first)</h2>${table}
${front}
<h2>Plots</h2>
${charts.map(({ chart, svg }) => `<figure id="plot-${chart.id}" data-chart="${chart.id}"><h3>${esc(chart.title)}</h3>${svg}<figcaption>${esc(chart.caption)} Files: <a href="${chart.id}.svg">${chart.id}.svg</a>, <a href="${chart.id}.png">${chart.id}.png</a>, <a href="${chart.id}.vl.json">Vega-Lite spec</a>.</figcaption></figure>`).join('\n')}
<h2>Provenance</h2>${kv(provenance)}
<h2>Config (as resolved and stored in the ledger)</h2><pre>${esc(stringify(config))}</pre>
</body></html>
`;
}

/** A multi-objective campaign's measured Pareto front as a table, in the objectives' units (dashboard review, 2026-12-07: the report had only the plot). */
function paretoTable(m: CampaignModel): string {
  if (!m.pareto) return '';
  const { objectives } = m.pareto;
  const front = m.pareto.points.filter((p) => p.front).sort((a, b) => a.values[0] - b.values[0]);
  const head = objectives.map((o) => `<th>${esc(o.name)} (${o.goal}${o.unit ? `, ${esc(o.unit)}` : ''})</th>`).join('');
  const body = front.length
    ? `<table class="summary"><thead><tr><th>trial</th>${head}</tr></thead><tbody>${front.map((p) => `<tr><td>${esc(p.trialId)}</td>${p.values.map((v) => `<td>${num(v)}</td>`).join('')}</tr>`).join('')}</tbody></table>`
    : '<p>No completed trial meets every threshold and constraint with measured objectives yet.</p>';
  return `<h2>Measured Pareto front (${front.length} trial${front.length === 1 ? '' : 's'})</h2>${body}`;
}
