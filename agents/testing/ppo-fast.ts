/** Fewer PPO iterations than the defaults so the unit tests stay fast; the benchmark uses the defaults. */
export const FAST = { iterations: 15, iterationsWarm: 4, episodes: 32 };
