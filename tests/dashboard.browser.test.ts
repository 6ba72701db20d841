// @module-tag slow
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkTrialParams, trialVolume } from '../src/compose/dashboard.js';
import { startDashboard, type DashboardServer } from '../src/serve/server.js';
import { skipWithout } from '../robots/testing/services.js';
import { cli, tmp } from './helpers.js';
import { readLedger } from './faults/harness.js';

/**
 * Issue #18 in a real browser: Debian's headless Chromium driven by playwright-core opens the
 * dashboard while a campaign runs in another process (embedded broker, simulated rigs, a small
 * twin), sees the round advance live, approves a batch, rejects a trial and edits one by
 * clicking, pauses and resumes it, and opens a report to find each plot drawn. With PORELOOP_RECORD_RESULTS=1 it saves the
 * screenshots of docs/images/ (never otherwise: tests do not rewrite tracked files).
 * Without Chromium it skips with the reason, except under PORELOOP_REQUIRE_SERVICES=1 (CI).
 */
const CHROMIUM = process.env.PORELOOP_CHROMIUM ?? '/usr/bin/chromium';
const noBrowser = skipWithout(existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set PORELOOP_CHROMIUM)`, 'dashboard in a browser');
const RECORD = process.env.PORELOOP_RECORD_RESULTS === '1';
const IMAGES = new URL('../docs/images/', import.meta.url).pathname;

const demo = YAML.parse(readFileSync(new URL('../configs/demo-gdl.yaml', import.meta.url), 'utf8'));
const config = {
  ...demo,
  name: 'dashboard-e2e',
  twin: { ...demo.twin, size: [32, 32, 24] },
  space: { ...demo.space, porosity: { min: 0.6, max: 0.8 }, binderFraction: { min: 0.1, max: 0.3 } },
  agent: { name: 'sequence', candidates: 4, batchSize: 2, options: { steps: [{ agent: 'sobol', trials: 4 }, { agent: 'gp-bo' }] } },
  rigs: { ...demo.rigs, approval: true, timeout: '30s', simulate: { ...demo.rigs.simulate, rigs: demo.rigs.simulate.rigs.map((r: object) => ({ ...r, latencyMs: 40 })) } },
  budget: { rigRuns: 12 },
  stop: {},
};

/** Polls `cond` every 100 ms; fails after `ms` saying what it waited for. */
async function until<T>(what: string, cond: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(noBrowser)('the dashboard and the report in headless Chromium (issue #18)', () => {
  const dir = tmp('poreloop-dash-');
  const db = join(dir, 'ledger.db');
  const path = join(dir, 'campaign.yaml');
  let child: ReturnType<typeof spawn>;
  let output = '';
  let exited: Promise<number | null>;
  let browser: import('playwright-core').Browser;
  let dash: DashboardServer | undefined;
  let campaignId = '';

  beforeAll(async () => {
    writeFileSync(path, YAML.stringify(config));
    // The campaign runs in its own process, as an operator's would; the dashboard only reads the ledger.
    const main = pathToFileURL(new URL('../src/cli/main.ts', import.meta.url).pathname).href;
    const script = `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(${JSON.stringify(['run', path, '--db', db])});`;
    // From the repository, where tsx resolves; the ledger and artifacts go to the temporary folder.
    child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    exited = new Promise((r) => child.once('exit', (c) => r(c)));
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('shows a running campaign live, and approves and rejects at the gate by clicking', async () => {
    campaignId = await until('the campaign to wait at the approval gate', () => {
      if (child.exitCode !== null) throw new Error(`the campaign process exited with ${child.exitCode}`);
      return readLedger(db, (l) => {
        const c = l.campaigns()[0];
        return c && l.documents(c.id, 'ApprovalRequested').length > 0 ? c.id : undefined;
      });
    }, 300_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${output}`);
    });
    dash = await startDashboard({ db, port: 0, volumeOf: trialVolume, checkParams: checkTrialParams });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    // Backstops against a loaded machine, not speed checks.
    page.setDefaultTimeout(120_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${dash.url}#token=${dash.token}`);
    // Round 1 waits for a person: the approval panel lists its trials, nothing went to the rigs.
    await page.waitForSelector('#approval:not([hidden]) tr[data-trial]');
    expect(await page.textContent('#c-round')).toBe('1');
    expect(await page.textContent('#a-round')).toBe('1');
    expect(await page.textContent('#c-state')).toBe('awaitingApproval.waiting');
    expect(await page.textContent('#c-runs')).toBe('0 (12 left)');
    // Approve the whole batch by clicking.
    await page.click('#a-submit');
    await page.waitForFunction("document.querySelector('#a-msg')?.textContent?.startsWith('sent: approve')");
    // The rigs run it and the loop comes back to the gate with round 2 — pushed by the server, no reload.
    await page.waitForFunction("document.querySelector('#a-round')?.textContent === '2'", undefined, { timeout: 180_000 });
    expect(await page.textContent('#c-round')).toBe('2');
    const round1 = readLedger(db, (l) => l.trials(campaignId).filter((t) => t.round === 1 && t.selectedRank !== null))!;
    expect(round1.length).toBeGreaterThan(0);
    expect(round1.every((t) => t.status === 'completed')).toBe(true);
    await page.waitForSelector('#chart-convergence svg .mark-symbol path, #chart-convergence svg .mark-symbol');
    await page.waitForSelector('#events li');
    expect(await page.locator('#events li', { hasText: 'ApprovalGiven' }).count()).toBeGreaterThan(0);
    // The fleet panel lists both rigs, the slice viewer draws the three planes of a trial.
    await page.waitForFunction("document.querySelectorAll('#f-table tr').length >= 3");
    expect(await page.textContent('#f-table')).toMatch(/fab-1[\s\S]*char-1|char-1[\s\S]*fab-1/);
    await page.waitForFunction("['s-x', 's-y', 's-z'].every((id) => document.getElementById(id).naturalWidth > 0)");
    expect(await page.textContent('#s-legend')).toMatch(/pore/);
    expect(await page.textContent('#s-bar-label')).toMatch(/µm/);
    if (RECORD) {
      mkdirSync(IMAGES, { recursive: true });
      await page.screenshot({ path: join(IMAGES, 'dashboard.png'), fullPage: true });
    }
    // Round 2: ask for a pause at the end of the round, then reject the first trial and approve the rest.
    await page.click('#btn-pause');
    await page.waitForFunction("document.querySelector('#c-status')?.textContent?.includes('pause requested')");
    const first = await page.getAttribute('#a-table tr[data-trial]', 'data-trial');
    await page.selectOption('#a-table tr[data-trial] select.decision', 'reject');
    await page.click('#a-submit');
    await until('round 2 decided', () => readLedger(db, (l) => l.documents(campaignId, 'ApprovalGiven').length >= 2));
    const given = readLedger(db, (l) => l.documents(campaignId, 'ApprovalGiven'))!;
    // (A batch of one trial rejected is a rejection of the batch, whose ids the decision lists.)
    if (given[1].body.decision !== 'reject') expect(given[1].body.trialIds).not.toContain(first);
    expect(readLedger(db, (l) => l.trials(campaignId).find((t) => t.id === first)?.status)).toBe('abandoned');
    // The runtime honours the pause at the end of round 2: no round 3 is proposed until Resume.
    await page.waitForFunction("document.querySelector('#c-state')?.textContent === 'paused'", undefined, { timeout: 180_000 });
    expect(readLedger(db, (l) => l.documents(campaignId, 'RoundStarted').length)).toBe(2);
    await page.click('#btn-resume');
    await page.waitForFunction("document.querySelector('#a-round')?.textContent === '3'", undefined, { timeout: 180_000 });
    // Round 3: edit a trial's porosity. Outside the space it is refused with the reason; inside, the rigs make the edited recipe.
    const edited = (await page.getAttribute('#a-table tr[data-trial]', 'data-trial'))!;
    await page.selectOption('#a-table tr[data-trial] select.decision', 'edit');
    const porosity = page.locator('#a-table tr[data-trial] input[data-param="porosity"]').first();
    await porosity.fill('1.5');
    await page.click('#a-submit');
    await page.waitForFunction("document.querySelector('#a-msg')?.textContent?.startsWith('refused')");
    expect(await page.textContent('#a-msg')).toMatch(/porosity/);
    await porosity.fill('0.7');
    await page.click('#a-submit');
    await until('the edited trial to be sent to the rigs', () =>
      readLedger(db, (l) => l.documents(campaignId, 'JobDispatched').find((d) => d.body.trialId === edited)),
    ).then((job) => expect(job.body.params.porosity).toBe(0.7));
    expect(readLedger(db, (l) => l.documents(campaignId, 'ApprovalGiven')[2].body)).toMatchObject({ decision: 'edit', edits: { [edited]: { porosity: 0.7 } } });
    // Stop from the dashboard; the campaign process ends cleanly.
    await page.click('#btn-stop');
    expect(await exited, output).toBe(0);
    expect(readLedger(db, (l) => l.campaign(campaignId)?.status)).toBe('stopped');
    expect(errors).toEqual([]);
  });

  it('opens a report with every plot drawn', async () => {
    const out = join(dir, 'report');
    const r = await cli(['report', campaignId, '--db', db, '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(pathToFileURL(join(out, 'index.html')).href);
    for (const [id, mark] of [['convergence', 'mark-line'], ['predictions', 'mark-symbol']]) {
      const fig = page.locator(`#plot-${id} svg`);
      expect(await fig.count(), id).toBe(1);
      const box = await fig.boundingBox();
      expect(box!.width * box!.height, `${id} has an area`).toBeGreaterThan(10_000);
      expect(await page.locator(`#plot-${id} svg .${mark} path`).count(), `${id} draws ${mark}`).toBeGreaterThan(0);
    }
    // And the PNGs beside it decode as images in the browser.
    for (const id of ['convergence', 'predictions']) {
      // A string: it runs in the page, where the DOM's Image exists (this file compiles without the DOM types).
      const size = await page.evaluate(`(async () => { const img = new Image(); img.src = '${id}.png'; await img.decode(); return img.naturalWidth; })()`);
      expect(size as number).toBeGreaterThan(200);
    }
    if (RECORD) await page.screenshot({ path: join(IMAGES, 'report.png'), fullPage: true });
  });
});
