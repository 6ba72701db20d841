import type { SimulationReport, Voxels } from '../core/protocols.js';
import { serveTasks } from '../exec/worker-host.js';
import { simulate, type SimulateRequest } from './index.js';
import type { Axis } from './labelling.js';
import { tortuosity } from './transport.js';

/**
 * Physics tasks for the worker pool (src/exec/worker-pool.ts): `simulate` (any property list
 * on one volume) and `tortuosity` (one axis), so that many candidates or several axes run in
 * parallel off the caller's event loop. Results cross the thread boundary by structured
 * clone, which keeps Infinity (a non-percolating τ) intact.
 */

export interface SimulateTask {
  voxels: Voxels;
  request: SimulateRequest;
}

export type SimulateTaskResult =
  | { ok: true; value: SimulationReport }
  | { ok: false; error: { message: string; reason: 'bad-input' | 'not-converged' | 'too-large' | 'internal' } };

export interface TortuosityTask {
  data: Uint8Array;
  shape: [number, number, number];
  phase: number;
  axis: Axis;
  preconditioner?: 'multigrid' | 'jacobi';
}

serveTasks({
  simulate: async ({ voxels, request }: SimulateTask): Promise<SimulateTaskResult> => {
    const r = await simulate(voxels, request);
    return r.ok ? { ok: true, value: r.value } : { ok: false, error: { message: r.error.message, reason: r.error.reason } };
  },
  tortuosity: ({ data, shape, phase, axis, preconditioner }: TortuosityTask) => tortuosity(data, shape, phase, axis, { preconditioner }),
});
