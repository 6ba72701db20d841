import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finishedCampaign } from '../../tests/ledgers.js';
import { exportCampaign, summariseCampaign, toCsv } from '../ledger/export.js';
import { campaignCharts } from './charts.js';
import { campaignModel, overview } from './model.js';
import { writeReport } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'poreloop-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('poreloop report (issue #18)', () => {
  it('writes every plot as SVG (with its marks) and PNG, inline in one HTML page with the summary, config and provenance', async () => {
    const l = finishedCampaign([1, null, 3, 2], { reward: undefined, objectives: [{ name: 'a', goal: 'max' }, { name: 'b', goal: 'min' }] });
    const r = await writeReport(l, 'c1', join(dir, 'out'), () => new Date('2026-02-03T04:05:06Z'));
    l.close();
    expect(r.charts.map((c) => c.id)).toEqual(['convergence', 'predictions', 'pareto']);
    // Vega names each mark's group by its type: the marks each plot must have drawn.
    const marks: Record<string, string[]> = { convergence: ['mark-line', 'mark-symbol', 'mark-area', 'mark-rect'], predictions: ['mark-symbol', 'mark-rule', 'mark-line'], pareto: ['mark-symbol', 'mark-line'] };
    const html = readFileSync(r.html, 'utf8');
    for (const c of r.charts) {
      const svg = readFileSync(c.svg, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const m of marks[c.id]) expect(svg, `${c.id} has ${m}`).toContain(`class="mark-${m.slice(5)}`);
      expect(readFileSync(c.png).subarray(0, 8).equals(PNG)).toBe(true);
      expect(html).toContain(`<figure id="plot-${c.id}"`);
      expect(existsSync(join(dir, 'out', `${c.id}.vl.json`))).toBe(true);
    }
    // Self-contained: the plots are inline, nothing is fetched.
    expect(html.match(/<svg/g)!.length).toBeGreaterThanOrEqual(3);
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html).toContain('config sha256</th><td>h</td>');
    expect(html).toContain('2026-02-03T04:05:06.000Z');
    expect(html).toMatch(/measured<\/th><td>4 \(1 infeasible\)/);
  });

  it('best trials meeting every threshold and constraint come first, the others marked; a multi-objective report has a table of the measured front (dashboard review, 2026-12-07)', async () => {
    const objectives = [{ name: 'a', goal: 'max', threshold: 1.2, unit: 'S/m' }, { name: 'x', goal: 'min' }];
    const l = finishedCampaign([1, 1.5, 2, 3], { reward: undefined, objectives, outcomeConstraints: [{ name: 'b', min: 7.5, max: 8.9 }] });
    const r = await writeReport(l, 'c1', join(dir, 'unmet'), () => new Date('2026-02-03T04:05:06Z'));
    l.close();
    const html = readFileSync(r.html, 'utf8');
    // The best measured reward is 2 (c1-r3-0), not the 3 of c1-r4-0, which is under b's min.
    expect(html).toContain('best measured reward</th><td>2.000</td>');
    const best = html.slice(html.indexOf('<h2>Best trials'), html.indexOf('<h2>Measured Pareto front'));
    const order = [...best.matchAll(/<td>(\d+|—)<\/td><td>(c1-r\d-0)<\/td>/g)].map((x) => `${x[1]} ${x[2]}`);
    expect(order).toEqual(['1 c1-r3-0', '2 c1-r2-0', '— c1-r4-0', '— c1-r1-0']);
    expect(best).toContain('b 7 &lt; min 7.5');
    const front = html.slice(html.indexOf('<h2>Measured Pareto front'), html.indexOf('<h2>Plots'));
    expect(front).toContain('<h2>Measured Pareto front (2 trials)</h2>');
    expect(front).toContain('<th>a (max, S/m)</th><th>x (min)</th>');
    expect([...front.matchAll(/<td>(c1-r\d-0)<\/td>/g)].map((x) => x[1])).toEqual(['c1-r2-0', 'c1-r3-0']);
  });

  it('no output of the stored config shows a broker password: report, export JSON/CSV, status --json, the dashboard model (security review xss9, finding 4)', async () => {
    const l = finishedCampaign([1, 2], { broker: { url: 'mqtts://orchestrator:S3cretPw@broker.lab:8883', protocol: 5 } });
    const r = await writeReport(l, 'c1', join(dir, 'secret'), () => new Date('2026-02-03T04:05:06Z'));
    const html = readFileSync(r.html, 'utf8');
    expect(html).not.toContain('S3cretPw');
    // Masked, not dropped: the report still says which broker and login the campaign used.
    expect(html).toContain('mqtts://orchestrator:***@broker.lab:8883');
    const model = campaignModel(l, 'c1');
    const views = [JSON.stringify(exportCampaign(l, 'c1')), toCsv(exportCampaign(l, 'c1')), JSON.stringify(summariseCampaign(l, 'c1')), JSON.stringify({ ...model, charts: campaignCharts(model) }), JSON.stringify(overview(l, l.campaign('c1')!))];
    l.close();
    for (const v of views) expect(v).not.toContain('S3cretPw');
  });
});
