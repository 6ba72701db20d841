import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finishedCampaign } from '../../tests/ledgers.js';
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
});
