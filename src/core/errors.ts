/**
 * Typed errors. `BadInputError` is anything the user can fix by changing what they passed
 * (config, arguments, files, payloads): the CLI maps it to exit code 2. Everything else is a
 * runtime failure (exit code 1). Messages say what was wrong and what is allowed.
 */
export class PoreloopError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input the user can correct: exit code 2. `path` names where (config path, flag, file). */
export class BadInputError extends PoreloopError {
  constructor(
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(path ? `${path}: ${message}` : message, options);
  }
}

/** A simulation that could not produce a number (bad volume, no convergence). */
export class SimulationError extends PoreloopError {
  constructor(
    message: string,
    readonly reason: 'bad-input' | 'not-converged' | 'too-large' | 'internal' = 'internal',
  ) {
    super(message);
  }
}

/** The ledger file failed an integrity check or holds documents we cannot read. */
export class LedgerError extends PoreloopError {}

/**
 * A document would move a trial along an edge the lifecycle (TRIAL_TRANSITIONS in
 * core/protocols.ts) does not have, e.g. `completed → dispatched`. The ledger refuses it and
 * writes nothing: the append's transaction rolls back (issue #15).
 */
export class TrialLifecycleError extends LedgerError {
  constructor(
    readonly trialId: string,
    readonly from: string | null,
    readonly to: string,
    readonly documentType: string,
    allowed: readonly string[] = [],
  ) {
    super(
      from === null
        ? `${documentType}: trial ${trialId} does not exist (a TrialProposed document creates it)`
        : `${documentType}: trial ${trialId} cannot go from ${from} to ${to} (allowed from ${from}: ${allowed.join(', ') || 'none, it is final'})`,
    );
  }
}

/** Exit code for an error, by the CLI contract of issue #2: 2 bad input, 1 runtime failure. */
export function exitCodeFor(e: unknown): 1 | 2 {
  return e instanceof BadInputError ? 2 : 1;
}
