/** Fewer PPO iterations than the defaults so the unit tests stay fast (the pool-replay benchmark sets its own budget: experiments/bench-agents.ts). */
export const FAST = { iterations: 15, iterationsWarm: 4, episodes: 32 };
