import { writeFileSync } from 'node:fs';
import { BadInputError } from '../../core/errors.js';
import type { RunOptions } from '../../compose/campaign.js';
import { exportCampaign, pendingApproval, stoppedByOperator, summariseCampaign, toCsv, toJson, type CampaignSummary, type TrialSummary } from '../../ledger/export.js';
import { campaignFinished, Ledger, issueCommand, type CampaignRow } from '../../ledger/ledger.js';
import { CampaignLease } from '../../ledger/lease.js';
import { parseSetFlags, withLedger, type GlobalArgs, type Output } from '../common.js';
import { createProgress } from '../progress.js';
import { paretoOf, withParetoExport, type ParetoReport } from '../../compose/pareto.js';
import { printPareto } from './pick.js';
import { overview } from '../../report/model.js';
import { PROPERTIES } from '../../physics/properties.js';

/**
 * What the campaign commands of issue #2 (run, resume, status, export, stop, pause, approve,
 * reject) do. Their yargs definitions are in campaign-commands.ts, which loads this module
 * only when one of them runs: the ledger, the reward expressions and the physics' units here
 * stay out of `poreloop --help` and of every other command's start.
 */

/** The composition root loads TF.js, the twins and the physics: only for the commands that run campaigns. */
const compose = () => import('../../compose/campaign.js');

// ±∞ is a value (an infinite anode loss: computable and terrible), — is unknown (diff review 2026-12-07, item 5).
const fmt = (v: number | null | undefined, digits = 4) => (v === Infinity ? '∞' : v === -Infinity ? '−∞' : v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v).toPrecision(digits));

/** The summary's width: it fits a 100-column terminal (issue #18: it was 173 wide). */
export const SUMMARY_WIDTH = 100;

/** Units of the P-model's properties (src/physics/properties.ts), as printed. */
const unitOf = (name: string, units: Record<string, string>): string => {
  const u = units[name] ?? PROPERTIES[name]?.unit;
  return u && u !== '1' ? ` ${u.replace('^2', '²').replace('^-1', '⁻¹').replace('^-2', '⁻²')}` : '';
};

/** Packs `items` into lines of at most `width` columns, each after `lead` (continuations indented). */
export function wrap(lead: string, items: string[], width = SUMMARY_WIDTH, sep = ', '): string[] {
  const lines: string[] = [];
  const indent = ' '.repeat(Math.min(Math.max(lead.length, 4), 8));
  let cur = lead;
  let empty = true;
  for (const it of items) {
    if (!empty && cur.length + sep.length + it.length > width) {
      lines.push(cur + sep.trimEnd());
      cur = indent + it;
    } else cur += (empty ? '' : sep) + it;
    empty = false;
  }
  lines.push(cur);
  return lines;
}

/**
 * The closing summary of a campaign (issue #18): what ended it, what the rig runs came to
 * (infeasible ones counted), what the reward is, and the best candidates — one short line per
 * candidate plus its parameters and predicted/measured properties with units — in 100 columns,
 * then where to look further (`report`, `serve`). `abandonment: false` leaves the reasons
 * trials were abandoned to the caller (`status` lists them with their latest trial ids).
 */
export function printSummary(out: Output, s: CampaignSummary, pareto: ParetoReport | null = null, opts: { abandonment?: boolean } = {}): void {
  const o = s.outcomes;
  out.info('');
  out.info(`campaign ${s.campaignId} (${s.name}): ${s.status}${s.stopReason ? ` — ${s.stopReason}` : ''}`);
  out.info(`rounds ${s.rounds} · rig runs ${s.rigRuns} · trials proposed ${s.trials} · wall time ${s.wallTimeS.toFixed(1)} s`);
  for (const l of wrap('rig runs: ', [
    `${o.measured} measured (${o.feasible} with a reward, ${o.infeasible} infeasible${o.noReward ? `, ${o.noReward} without a finite measured reward (±∞/NaN, or resting on a property the rigs did not measure)` : ''})`,
    ...(o.estimated ? [`${o.estimated} stopped early with an estimate`] : []),
    `${o.failed} failed`,
    `${o.abandoned} abandoned`,
  ])) out.info(l);
  // Review 2026-12-07: why those rewards are not finite ('12 × sigma_eff_z = 0 → reward −∞').
  for (const r of s.noRewardReasons) out.info(`  no finite measured reward: ${r.trials} × ${r.reason} (first ${r.first})`);
  // Review 2026-12-07: why trials were abandoned (every one for the same handler error, once
  // shown only by `status`); the three most frequent reasons.
  if (opts.abandonment !== false) for (const r of s.abandonReasons.slice(0, 3)) out.info(`  abandoned: ${r.trials} × ${r.reason} (first ${r.first})`);
  if (opts.abandonment !== false && s.abandonReasons.length > 3) out.info(`  … and ${s.abandonReasons.length - 3} more reasons (poreloop status ${s.campaignId})`);
  if (o.measured === 0 && o.abandoned > 0) out.info(`no rig run was measured: ${o.abandoned} trials were abandoned (reasons above)`);
  // Issue #20 review: an early-stopped trial's estimate is shown as one, never as a measurement.
  for (const e of s.estimates.slice(0, 5)) {
    const props = Object.entries(e.estimates).map(([k, v]) => `${k} ${fmt(v.mean)} ± ${fmt(v.std)}`).join(', ');
    out.info(`  ${e.trialId}: ${e.fidelity} estimate (${e.basis}) ${props}; reward with it ${fmt(e.reward)}${e.rewardStd !== null ? ` ± ${fmt(e.rewardStd)}` : ''}`);
  }
  if (s.estimates.length > 5) out.info(`  … and ${s.estimates.length - 5} more estimates (poreloop export)`);
  if (o.imported) out.info(`imported ${o.imported} earlier measurements (warm start; not rig runs of this campaign)`);
  const reward = s.reward
    ? // No unit: a reward expression's unit is whatever it computes (the SOFC example's is mV), and the config does not say (review 2026-12-07).
      `reward (higher is better) = ${s.reward}`
    : `reward (higher is better) = Σ goal·ln(objective), so that a relative change counts alike in every objective (issue #16): ${s.objectives.map((x) => `${x.goal === 'max' ? '+' : '−'}ln ${x.name}`).join(' ')}`;
  for (const l of wrap('', reward.split(' '), SUMMARY_WIDTH, ' ')) out.info(l);
  if (s.top.length > 0) {
    out.info('');
    out.info('best candidates by measured reward (pred: P-model, corrected toward the rigs; meas: rigs):');
    s.top.forEach((t, i) => printCandidate(out, s, t, i));
  }
  // Review 2026-12-07: trials that miss a threshold or an outcome constraint are no candidates
  // (d2150b7), but they were measured — left unprinted, a campaign where every trial misses one
  // said "no trial has a measured result yet".
  if (s.unmetTop.length > 0) {
    out.info('');
    // 'requirement', not 'threshold': a trial may miss one because an objective was never
    // measured, and then blaming thresholds sends the operator the wrong way (dashboard review
    // 2026-12-07, 5a1f5c4); a property no completed trial has is named (s.unmeasured: for a
    // single objective too, which has no Pareto report — review of c7ab457).
    const never = s.unmeasured.length ? `: none has a measured ${s.unmeasured.join(', ')}` : '';
    if (s.top.length === 0) out.info(`no measured trial meets every requirement yet${never}`);
    out.info('measured but missing a requirement (no candidates):');
    s.unmetTop.forEach((t, i) => {
      printCandidate(out, s, t, i);
      for (const l of wrap('    misses: ', t.unmet)) out.info(l);
    });
  } else if (s.top.length === 0) {
    out.info('no trial has a measured result yet');
  }
  printUncertainty(out, s.uncertainty);
  printPareto(out, pareto);
  out.info('');
  out.info(`ledger: ${s.ledger}`);
  const db = `--db ${s.ledger}`.length <= 40 ? `--db ${s.ledger}` : '--db <ledger>';
  out.info(`plots and report: poreloop report ${s.campaignId} --out report/ ${db}`);
  out.info(`live dashboard:   poreloop serve ${db}`);
}

/** One trial of a best list: rank, reward measured and predicted, its parameters and properties with units. */
function printCandidate(out: Output, s: CampaignSummary, t: TrialSummary, i: number): void {
  const pred = t.predictedRewardStd === null || t.predictedRewardStd === undefined ? fmt(t.predictedReward) : `${fmt(t.predictedReward)} ± ${fmt(t.predictedRewardStd, 2)}`;
  // What made the prediction, as the ledger has it (review 2026-12-07, item 4): a surrogate's
  // or a no-model estimate reads differently from a simulation's; no fixed set is assumed.
  const by = t.predictedFidelity && t.predictedReward !== null ? ` (${t.predictedFidelity})` : '';
  out.info(`${String(i + 1).padStart(2)}. ${t.trialId.split('-').slice(-2).join('-').padEnd(8)} reward meas ${fmt(t.measuredReward).padStart(9)}   pred ${pred}${by}`);
  const params = Object.entries(t.params).map(([k, v]) => `${k} ${typeof v === 'number' ? fmt(v, 3) : String(v)}${unitOf(k, s.units)}`);
  for (const l of wrap('    ', params)) out.info(l);
  const props = Object.keys(t.measured).map((p) => `${p} ${fmt(t.predicted[p], 3)}/${fmt(t.measured[p], 3)}${unitOf(p, {})}`);
  for (const l of wrap('    pred/meas: ', props)) out.info(l);
}

/** How sure the simulated scores were, and which properties the domain was too small for (issue #13). */
function printUncertainty(out: Output, u: CampaignSummary['uncertainty']): void {
  if (!u) return;
  const r = u.realisations;
  const s = u.rewardStd;
  out.info('');
  out.info(`P-model uncertainty over ${u.simulated} simulated trials:`);
  // One fact per line: the end-of-run summary fits 100 columns (issue #18).
  out.info(`  twin realisations per trial: median ${r ? `${r.median} (${r.min}–${r.max})` : '—'}`);
  out.info(`  reward σ: median ${s ? `${fmt(s.median, 2)} (quartiles ${fmt(s.p25, 2)}–${fmt(s.p75, 2)})` : '—'}`);
  for (const [p, v] of Object.entries(u.properties)) {
    if (v.medianCv === null) continue;
    const flag = v.rveFlagged > 0 ? `; ${v.rveFlagged} trials over predict.rveMaxCv (domain too small)` : '';
    out.info(`  ${p.slice(0, 24)}: median CV ${fmt(v.medianCv, 2)}${flag}`);
  }
}

function runOptions(args: GlobalArgs, out: Output, controller: AbortController): RunOptions {
  const progress = createProgress(out);
  return {
    db: args.db,
    onProgress: (e) => progress.update(e),
    log: (line) => out.log(line),
    signal: controller.signal,
    onStart: (id) => out.log(`campaign ${id} (ledger ${args.db})`),
  };
}

/** SIGINT/SIGTERM stop the campaign cleanly after recording its state (issue #2). */
function withSignals<T>(fn: (c: AbortController) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping after recording state (send again to force)\n`);
    if (controller.signal.aborted) process.exit(130);
    controller.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return fn(controller).finally(() => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });
}

/**
 * The summary of a campaign this process ran (or found finished), and its exit code: 0 when
 * it completed with at least one measured trial (or nothing abandoned) or an operator stopped it, else 1 with a line on stderr that says what to do.
 * Any status but `failed` exited 0 — also a campaign left `running` by a write that failed, or
 * one that stopped itself because it could not record a rig result (review of two campaigns on
 * one ledger, 2026-12-07).
 */
export async function report(out: Output, s: CampaignSummary): Promise<number> {
  // Issue #16: a multi-objective campaign's result is its Pareto front (read back from the ledger).
  const pareto = await withLedger(s.ledger, (l) => paretoOf(l, s.campaignId));
  printSummary(out, s, pareto);
  out.result({ pareto, campaignId: s.campaignId, status: s.status, stopReason: s.stopReason, rounds: s.rounds, rigRuns: s.rigRuns, trials: s.trials, best: s.best, top: s.top, ledger: s.ledger, wallTimeS: s.wallTimeS, uncertainty: s.uncertainty });
  // A campaign that "completed" with every rig run abandoned measured nothing: a lab controller
  // that reads the exit status must not take it for a result (closing note of the fifth session:
  // such a run exited 0). The operator's own stop stays 0, whatever it left.
  if (s.status === 'completed' && s.outcomes.measured === 0 && s.outcomes.abandoned > 0) {
    const why = s.abandonReasons[0];
    out.log(`poreloop: failed: campaign ${s.campaignId} completed without a single measured trial: all ${s.outcomes.abandoned} trials sent were abandoned${why ? ` (most often, ${why.trials} of them: ${why.reason})` : ''}; see "poreloop status ${s.campaignId} --db ${s.ledger}"`);
    return 1;
  }
  if (s.status === 'completed' || (s.status === 'stopped' && stoppedByOperator(s.stopReason))) return 0;
  const resume = `"poreloop resume ${s.campaignId} --db ${s.ledger}"`;
  if (s.status === 'failed') out.log(`poreloop: failed: campaign ${s.campaignId} failed: ${s.stopReason ?? 'no reason recorded'}`);
  else if (s.status === 'stopped') out.log(`poreloop: failed: campaign ${s.campaignId} stopped without an operator: ${s.stopReason ?? 'no reason recorded'}; continue it with ${resume}`);
  else out.log(`poreloop: failed: this process ended but the ledger still records campaign ${s.campaignId} as ${s.status} (its end could not be recorded); continue it with ${resume}`);
  return 1;
}

export interface RunArgs extends GlobalArgs {
  config: string;
  seed?: number;
  broker?: string;
  set?: string[];
}

export interface CampaignArgs extends GlobalArgs {
  campaignId: string;
}

export interface ExportArgs extends CampaignArgs {
  format: string;
  out?: string;
}

export type OperatorName = 'stop' | 'pause' | 'approve' | 'reject';

export interface OperatorArgs extends CampaignArgs {
  reject?: string[];
  edit?: string[];
}

/** `poreloop run <config>`. */
export async function run(args: RunArgs, out: Output): Promise<number> {
  if (args.seed !== undefined && (!Number.isInteger(args.seed) || args.seed < 0)) throw new BadInputError(`expected a non-negative integer, got ${args.seed}`, '--seed');
  const { loadCampaign, runCampaign } = await compose();
  const resolved = loadCampaign(args.config, { seed: args.seed, broker: args.broker, set: args.set });
  return report(out, await withSignals((c) => runCampaign(resolved, runOptions(args, out, c))));
}

/** `poreloop resume <campaignId>`. */
export async function resume(args: CampaignArgs, out: Output): Promise<number> {
  // A campaign paused by `poreloop pause` still has its process: tell it to go on
  // (issue #18). Otherwise this process continues the campaign from its ledger.
  const answered = await resumeRunning(args.db, args.campaignId, out);
  if (answered === 'sent') return 0;
  // A finished campaign is only summarised, as resumeCampaign would (no composition root, ≈ 1.9 s).
  if (answered) return report(out, answered);
  const { resumeCampaign } = await compose();
  return report(out, await withSignals((c) => resumeCampaign(args.campaignId, runOptions(args, out, c))));
}

/**
 * Sends `resume` to a paused campaign (or one with a pause pending) that a live process runs
 * ('sent'); the summary of a finished (completed or failed) campaign, which is all resumeCampaign
 * would give; false otherwise, and `resume` continues the campaign from its ledger as before (a
 * killed process's lease does not count: CampaignLease.liveHolder). A campaign the ledger does
 * not hold is bad input (exit 2).
 */
function resumeRunning(db: string, idOrPrefix: string, out: Output): Promise<'sent' | CampaignSummary | false> {
  // Through withLedger: a --db that does not exist is bad input naming it (exit 2), never an
  // empty ledger made at a mistyped path (resumeCampaign below opens it writable).
  return withLedger(db, (ledger) => {
    // Said here, as resumeCampaign says it, so that a mistyped id is not answered only after
    // the composition root has loaded (≈ 1.9 s wall; experiments/results/cli-start.md).
    const c = ledger.requireCampaign(idOrPrefix, db);
    if (campaignFinished(c)) return summariseCampaign(ledger, c.id);
    const holder = CampaignLease.liveHolder(ledger, c.id);
    if (!holder || (c.status !== 'running' && c.status !== 'paused')) return false;
    const o = overview(ledger, c);
    if (o.state !== 'paused' && !o.pauseRequested) return false;
    issueCommand(ledger, c.id, 'resume', { by: process.env.USER ?? 'operator' });
    out.info(`resume sent to campaign ${c.id} (run by process ${holder.pid} on ${holder.host})`);
    out.result({ campaignId: c.id, command: 'resume' });
    return 'sent' as const;
  }, { readonly: false });
}

/** Abandon reasons `status` lists (the closing summary shows three and points here). */
const ABANDON_REASONS_SHOWN = 10;

/** `poreloop status [campaignId]`: the campaigns of a ledger, or one campaign. */
export function status(args: GlobalArgs & { campaignId?: string }, out: Output): Promise<void> {
  return withLedger(args.db, (ledger) => {
    if (!args.campaignId) {
      const rows = ledger.campaigns().map((c) => {
        const o = overview(ledger, c);
        return { campaignId: c.id, name: c.name, status: c.status, state: o.state, rounds: c.rounds, rigRuns: c.rigRuns, createdAt: c.createdAt, wallTimeS: o.wallTimeS, stopReason: c.stopReason };
      });
      for (const r of rows) out.info(`${r.campaignId}  ${r.status.padEnd(9)} ${(r.state ?? '').padEnd(16)} rounds ${String(r.rounds).padStart(3)}  rig runs ${String(r.rigRuns).padStart(4)}  ${r.wallTimeS.toFixed(0).padStart(5)} s  ${r.stopReason ?? ''}`);
      if (rows.length === 0) out.info(`no campaigns in ${args.db}`);
      out.result({ campaigns: rows });
      return;
    }
    const c = ledger.requireCampaign(args.campaignId, args.db);
    const s = summariseCampaign(ledger, c.id);
    const jobs = ledger.jobs(c.id);
    const counts = jobs.reduce<Record<string, number>>((m, j) => ((m[j.status] = (m[j.status] ?? 0) + 1), m), {});
    out.info(`campaign ${c.id} (${c.name}) ${c.status}; config ${c.source} sha256:${c.configHash.slice(0, 12)} seed ${c.seed}`);
    // The machine's state, from the persisted snapshot (issue #18: it was only JSON in the ledger).
    const o = overview(ledger, c);
    out.info(`state ${o.state ?? '—'} · round ${o.round}${o.budgetLeft !== null ? ` · rig runs left ${o.budgetLeft} of ${o.rigBudget}` : ''}${o.pauseRequested ? ' · pause requested (takes effect at the end of the round)' : ''}`);
    out.info(`jobs: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
    if (s.awaitingApproval) {
      const { round, trialIds } = s.awaitingApproval;
      out.info(`waiting for approval: round ${round}, ${trialIds.length} trials (${trialIds.join(', ')}); decide with "poreloop approve|reject ${c.id}"`);
    }
    // Why trials ended without a result (issue #14: a rig whose measurement keys do not match
    // rigs.measure learns it here), and which process runs the campaign now.
    // Only trials that are still abandoned (review): a late result may have completed one since.
    const stillAbandoned = new Set(ledger.trials(c.id).filter((t) => t.status === 'abandoned').map((t) => t.id));
    const abandoned = ledger.documents(c.id, 'TrialAbandoned').filter((d) => stillAbandoned.has(d.body.trialId)).map((d) => ({ trialId: d.body.trialId, reason: d.body.reason }));
    // Once, by reason with its count and latest ids; the summary below leaves them out (review
    // of 0e10d79: status printed its last five "abandoned <id>: reason" and the summary's counts).
    // Each trial at its last abandonment: a Map keeps a key where it was first set, so one
    // abandoned again (a ledger from before the lifecycle check, issue #15) is deleted first (review of c7ab457).
    const latest = new Map<string, string>();
    for (const a of abandoned) {
      latest.delete(a.trialId);
      latest.set(a.trialId, a.reason);
    }
    for (const r of s.abandonReasons.slice(0, ABANDON_REASONS_SHOWN)) {
      const ids = [...latest].filter(([, reason]) => reason === r.reason).map(([id]) => id).slice(-3);
      const shown = ids.length ? ids : [r.first];
      out.info(`abandoned ${r.trials > shown.length ? `${r.trials} trials, latest ` : ''}${shown.join(', ')}: ${r.reason}`);
    }
    if (s.abandonReasons.length > ABANDON_REASONS_SHOWN) out.info(`(${s.abandonReasons.length - ABANDON_REASONS_SHOWN} more reasons: --json lists every abandoned trial)`);
    // Only a live holder runs it (config review, item 3): a SIGKILLed process leaves its lease
    // row behind, and `status` said "run by process N" after it had expired. The same test as
    // resume and the dashboard (CampaignLease.liveHolder); a row left by a process that is gone
    // is shown as the last run, with how to continue it while the campaign is unfinished.
    const holder = CampaignLease.liveHolder(ledger, c.id);
    const recorded = holder ? null : CampaignLease.holder(ledger, c.id);
    if (holder) out.info(`run by process ${holder.pid} on ${holder.host} since ${holder.startedAt}`);
    else if (recorded) {
      const unfinished = c.status === 'running' || c.status === 'paused';
      const expired = recorded.expiresAt <= Date.now();
      out.info(
        `last run by process ${recorded.pid} on ${recorded.host} since ${recorded.startedAt} (no longer running` +
          (expired ? `: its lease expired at ${new Date(recorded.expiresAt).toISOString()}` : '') +
          (unfinished ? `; resume it with "poreloop resume ${c.id} --db ${args.db}"` : '') +
          ')',
      );
    }
    const pareto = paretoOf(ledger, c.id);
    printSummary(out, s, pareto, { abandonment: false });
    out.result({ ...s, pareto, state: o.state, round: o.round, budgetLeft: o.budgetLeft, pauseRequested: o.pauseRequested, jobs: counts, configHash: c.configHash, seed: c.seed, abandoned, runBy: holder, lastRunBy: recorded });
  });
}

/** `poreloop export <campaignId>`. */
export function exportTrials(args: ExportArgs, out: Output): Promise<void> {
  return withLedger(args.db, (ledger) => {
    const c = ledger.requireCampaign(args.campaignId, args.db);
    const doc = withParetoExport(exportCampaign(ledger, c.id), paretoOf(ledger, c.id));
    const text = args.format === 'json' || args.json ? toJson(doc) : toCsv(doc);
    if (args.out) {
      try {
        writeFileSync(args.out, text);
      } catch (e) {
        // A path the user can fix: exit 2, not a raw ENOENT as a runtime failure (review of the CLI, 2026-12-07).
        const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory (does its folder exist?)' : (e as Error).message;
        throw new BadInputError(`cannot write ${args.out}: ${why}`, '--out', { cause: e });
      }
      out.info(`wrote ${doc.trials.length} trials to ${args.out}`);
      out.result({ campaignId: c.id, trials: doc.trials.length, out: args.out, format: args.format });
    } else process.stdout.write(text);
  });
}

/** Operator commands go through the ledger: the running campaign polls it (no extra channel). */
export function operate(name: OperatorName, args: OperatorArgs, out: Output): Promise<void> {
  return withLedger(args.db, async (ledger) => {
    const c = ledger.requireCampaign(args.campaignId, args.db);
    if (c.status !== 'running' && c.status !== 'paused') throw new BadInputError(`campaign ${c.id} is ${c.status}; nothing to ${name}`, 'campaignId');
    // A decision names the round it is about; with nothing waiting there is nothing to
    // decide (a command left behind would decide the next batch unseen, issue #18 review).
    const decision = name === 'approve' || name === 'reject';
    const pending = decision ? pendingApproval(ledger, c.id) : null;
    if (decision && !pending) throw new BadInputError(`no batch of campaign ${c.id} waits for approval; nothing to ${name} (see "poreloop status ${c.id}")`, 'campaignId');
    const perTrial = name === 'approve' ? await perTrialArgs(ledger, c, args.reject, args.edit) : {};
    issueCommand(ledger, c.id, name, { ...(pending ? { round: pending.round } : {}), ...perTrial, by: process.env.USER ?? 'operator' });
    out.info(`${name} sent to campaign ${c.id}${pending ? ` for round ${pending.round}` : ''}`);
    out.result({ campaignId: c.id, command: name, ...(pending ? { round: pending.round } : {}) });
  }, { readonly: false });
}

/**
 * `approve --reject <trial> --edit <trial>:<name>=<value>`: the trials must be in the batch that
 * waits; an edit changes the named parameters and keeps the others, and must stay in the
 * campaign's space (bounds, categories, constraints, pool), checked here as the dashboard checks
 * its edits. Left to the campaign alone, `--edit r2-1:ptfeLoading=99` answered "approve sent",
 * exit 0, and the campaign then gave the trial up (review of the CLI, 2026-12-07); it still
 * checks, for a command written by other means.
 */
async function perTrialArgs(ledger: Ledger, campaign: CampaignRow, reject: string[] = [], edit: string[] = []): Promise<{ reject?: string[]; edits?: Record<string, Record<string, number | string>> }> {
  if (reject.length === 0 && edit.length === 0) return {};
  const campaignId = campaign.id;
  const pending = pendingApproval(ledger, campaignId);
  if (!pending) throw new BadInputError(`no batch of campaign ${campaignId} waits for approval`, reject.length ? '--reject' : '--edit');
  const inBatch = (id: string, flag: string) => {
    const full = pending.trialIds.find((t) => t === id || t.endsWith(`-${id}`));
    if (!full) throw new BadInputError(`trial "${id}" is not in the waiting batch (${pending.trialIds.join(', ')})`, flag);
    return full;
  };
  const edits: Record<string, Record<string, number | string>> = {};
  for (const e of edit) {
    const colon = e.indexOf(':');
    if (colon <= 0) throw new BadInputError(`expected trialId:name=value, got "${e}"`, '--edit');
    const id = inBatch(e.slice(0, colon), '--edit');
    const trial = ledger.trials(campaignId).find((t) => t.id === id)!;
    edits[id] = { ...(edits[id] ?? trial.params), ...parseSetFlags([e.slice(colon + 1)], '--edit') };
  }
  if (Object.keys(edits).length > 0) {
    // The campaign's space comes from its stored config, through the composition root: loaded only for an edit.
    const { checkTrialParams } = await import('../../compose/dashboard.js');
    for (const [id, params] of Object.entries(edits)) {
      const problems = checkTrialParams(campaign, params);
      if (problems.length > 0) throw new BadInputError(`trial ${id} as edited is outside the campaign's space: ${problems.join('; ')}; nothing was sent`, '--edit');
    }
  }
  return { reject: reject.map((r) => inBatch(r, '--reject')), ...(Object.keys(edits).length ? { edits } : {}) };
}
