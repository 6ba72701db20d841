import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../orchestrator/runtime.js';
import type { Output } from './common.js';

/**
 * Campaign progress: a live bar on a TTY, plain log lines otherwise (CI, pipes, --json), so
 * long work always shows that it is alive (issue #2).
 */
export function createProgress(out: Output, stream: NodeJS.WriteStream = process.stderr): { update(e: ProgressEvent): void; stop(): void } {
  const tty = !!stream.isTTY && !out.json;
  const labels: Record<ProgressEvent['phase'], string> = {
    propose: 'proposing',
    score: 'generating + scoring',
    select: 'selecting',
    approval: 'awaiting approval',
    dispatch: 'dispatching',
    rigs: 'rigs measuring',
    assimilate: 'assimilating',
    finish: 'finished',
  };
  if (tty) {
    const bar = new cliProgress.SingleBar(
      { format: ' round {round} | {phase} [{bar}] {value}/{total} {message}', hideCursor: true, clearOnComplete: false, stream },
      cliProgress.Presets.shades_classic,
    );
    let started = false;
    let round = 0;
    return {
      update(e) {
        // `finish` carries no round: keep showing the last one.
        if (e.phase !== 'finish') round = e.round;
        const payload = { round, phase: labels[e.phase].padEnd(20), message: e.message ?? '' };
        if (!started) {
          bar.start(Math.max(1, e.total), e.done, payload);
          started = true;
        } else {
          bar.setTotal(Math.max(1, e.total));
          bar.update(e.done, payload);
        }
        if (e.phase === 'finish') bar.stop();
      },
      stop: () => bar.stop(),
    };
  }
  let last = '';
  return {
    update(e) {
      // One line per phase change or completed step; not one per tick.
      const line = e.phase === 'finish' ? `campaign ${e.message ?? 'finished'}` : `round ${e.round}: ${labels[e.phase]} ${e.done}/${e.total}${e.message ? ` — ${e.message}` : ''}`;
      const key = `${e.round}:${e.phase}:${e.done === e.total}`;
      if (key !== last || e.message) out.log(line);
      last = key;
    },
    stop: () => {},
  };
}
