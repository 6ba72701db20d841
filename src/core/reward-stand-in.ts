/**
 * The finite stand-in for a reward of −∞ (review 2026-12-07, the GDL demo at a reduced twin
 * size): a reward that is computable and worse than any finite one — log10 of a through-plane
 * conductivity of exactly 0 — is data, unlike NaN (not computable: a failed manufacture, a
 * property nobody measured). A model fitted to rewards cannot take −∞, and leaving such points
 * out kept the estimate of the region high, so the agent proposed there again and again. Shared
 * by the agents' training data (agents/common.ts) and the reality model's data (the runtime's
 * measurements, src/predict/uncertainty.ts for the simulations), so both see the same number.
 */

/**
 * One standard deviation of the finite rewards below the worst of them (max(1, |worst|) below
 * when they do not spread): clearly worse than anything finite, on the rewards' own scale, so a
 * GP on the standardised rewards is not flattened by an extreme value. NaN without finite rewards.
 */
export function minusInfinityStandIn(finite: readonly number[]): number {
  if (finite.length === 0) return Number.NaN;
  const worst = Math.min(...finite);
  const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
  const sd = finite.length > 1 ? Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (finite.length - 1)) : 0;
  return worst - (sd > 0 ? sd : Math.max(1, Math.abs(worst)));
}

/**
 * `rewards` with each −∞ replaced by `minusInfinityStandIn` of the finite ones; every other
 * value (finite, NaN, +∞) as it is. Without a finite reward a −∞ stays −∞.
 */
export function withMinusInfinityStandIn(rewards: readonly number[]): number[] {
  if (!rewards.includes(-Infinity)) return [...rewards];
  const standIn = minusInfinityStandIn(rewards.filter(Number.isFinite));
  return rewards.map((r) => (r === -Infinity && !Number.isNaN(standIn) ? standIn : r));
}
