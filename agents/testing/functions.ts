/**
 * Standard optimisation test functions (Surjanovic & Bingham, Virtual Library of Simulation
 * Experiments, https://www.sfu.ca/~ssurjano/), posed as reward maximisation (reward = −f) over
 * a ParameterSpace, for agent tests and benchmarks.
 */
import type { ParameterSpace, Parameters } from '../../src/core/protocols.js';

export interface TestProblem {
  name: string;
  space: ParameterSpace;
  /** Reward (higher is better). */
  reward: (p: Parameters) => number;
  /** The best reward attainable (−f at the global minimum). */
  optimum: number;
}

const box = (names: string[], min: number, max: number): ParameterSpace => ({
  parameters: names.map((name) => ({ name, kind: 'continuous' as const, min, max })),
});

/** Branin–Hoo on [−5, 10] × [0, 15]; minimum 0.397887 at three points. */
export const branin: TestProblem = {
  name: 'branin',
  space: { parameters: [{ name: 'x1', kind: 'continuous', min: -5, max: 10 }, { name: 'x2', kind: 'continuous', min: 0, max: 15 }] },
  reward: (p) => {
    const x1 = p.x1 as number;
    const x2 = p.x2 as number;
    const b = 5.1 / (4 * Math.PI ** 2);
    const c = 5 / Math.PI;
    const t = 1 / (8 * Math.PI);
    return -((x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10);
  },
  optimum: -0.397887,
};

const H6_A = [
  [10, 3, 17, 3.5, 1.7, 8],
  [0.05, 10, 17, 0.1, 8, 14],
  [3, 3.5, 1.7, 10, 17, 8],
  [17, 8, 0.05, 10, 0.1, 14],
];
const H6_P = [
  [1312, 1696, 5569, 124, 8283, 5886],
  [2329, 4135, 8307, 3736, 1004, 9991],
  [2348, 1451, 3522, 2883, 3047, 6650],
  [4047, 8828, 8732, 5743, 1091, 381],
].map((r) => r.map((v) => v * 1e-4));
const H6_ALPHA = [1, 1.2, 3, 3.2];

/** Hartmann-6 on [0, 1]^6; minimum −3.32237. */
export const hartmann6: TestProblem = {
  name: 'hartmann6',
  space: box(['x1', 'x2', 'x3', 'x4', 'x5', 'x6'], 0, 1),
  reward: (p) => {
    const x = [1, 2, 3, 4, 5, 6].map((i) => p[`x${i}`] as number);
    let s = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++) inner += H6_A[i][j] * (x[j] - H6_P[i][j]) ** 2;
      s += H6_ALPHA[i] * Math.exp(-inner);
    }
    return s;
  },
  optimum: 3.32237,
};

/** Levy function in d dimensions on [−10, 10]^d; minimum 0 at (1, …, 1). */
export function levy(d: number): TestProblem {
  const names = Array.from({ length: d }, (_, i) => `x${i + 1}`);
  return {
    name: `levy${d}`,
    space: box(names, -10, 10),
    reward: (p) => {
      const w = names.map((n) => 1 + ((p[n] as number) - 1) / 4);
      let f = Math.sin(Math.PI * w[0]) ** 2;
      for (let i = 0; i < d - 1; i++) f += (w[i] - 1) ** 2 * (1 + 10 * Math.sin(Math.PI * w[i] + 1) ** 2);
      f += (w[d - 1] - 1) ** 2 * (1 + Math.sin(2 * Math.PI * w[d - 1]) ** 2);
      return -f;
    },
    optimum: 0,
  };
}
