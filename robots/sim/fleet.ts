/**
 * A simulated fleet of rigs with realistic, varied durations (issue #21): the lab of the
 * asynchronous-campaign benchmark and tests. Real characterisation rigs differ from one another
 * (an older potentiostat, a slower furnace ramp, a rig shared with another group) and one rig's
 * runs differ from run to run (equilibration, a re-run of a noisy sweep). Both are modelled as
 * log-normal: each rig's mean duration is `meanMinutes · exp(σ_rig · N(0,1) − σ_rig²/2)` (its
 * speed, drawn once per rig from the seed), and each run's duration is log-normal around its
 * rig's mean with coefficient of variation `runCv` (robots/sim `sampleLatency`, per job
 * attempt). Log-normal because durations are positive and right-skewed — the occasional long
 * run is what makes the slowest rig of a synchronous batch set everyone's pace.
 *
 * Minutes are scaled down by `msPerMinute` (default 1000: one simulated second per minute), so
 * a lab day runs in minutes of a fake clock's time (src/core/fake-clock.ts) and benchmarks
 * report rates in the lab's own minutes (divide by msPerMinute).
 */
import { createRng } from '../../src/core/rng.js';
import type { FaultSpec, SimRigConfig } from './index.js';

export interface FleetSpec {
  /** Number of rigs. */
  rigs: number;
  capabilities: string[];
  /** Mean duration of one run over the fleet, in lab minutes. */
  meanMinutes: number;
  /** σ of ln(rig mean duration): spread of rig speeds (0.3 → the slowest of 20 rigs ~1.8× the fastest's mean). */
  rigSpread?: number;
  /** Coefficient of variation of one rig's run durations. */
  runCv?: number;
  /** Simulated ms per lab minute. */
  msPerMinute?: number;
  seed: number;
  /** Relative measurement noise of every rig. */
  noise?: number;
  faults?: FaultSpec;
  heartbeatMs?: number;
  /** Rig ids are `${prefix}-<n>` (default 'rig'). */
  prefix?: string;
}

/** The rigs of a fleet (configs for createSimulatedLab), each with its own mean duration. */
export function variedFleet(spec: FleetSpec): SimRigConfig[] {
  const rng = createRng(spec.seed).fork('fleet-speeds');
  const sigma = spec.rigSpread ?? 0.3;
  const cv = spec.runCv ?? 0.3;
  const scale = spec.msPerMinute ?? 1000;
  return Array.from({ length: spec.rigs }, (_, i) => {
    // exp(σZ − σ²/2) has mean 1: the fleet's mean duration stays meanMinutes.
    const mean = spec.meanMinutes * scale * Math.exp(sigma * rng.normal() - (sigma * sigma) / 2);
    return {
      id: `${spec.prefix ?? 'rig'}-${i + 1}`,
      capabilities: [...spec.capabilities],
      latencyMs: { dist: 'lognormal' as const, mean, sd: cv * mean },
      ...(spec.noise !== undefined ? { noise: spec.noise } : {}),
      ...(spec.faults ? { faults: spec.faults } : {}),
      ...(spec.heartbeatMs !== undefined ? { heartbeatMs: spec.heartbeatMs } : {}),
    };
  });
}
