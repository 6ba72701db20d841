import { defineConfig } from 'vitest/config';
import { shared, tiers } from './vitest.config.js';

// The faults tier, `npm run test:faults` (issue #15): tests/faults/ at full counts
// (PORELOOP_FAULTS_FULL=1, set by the script). Each scenario restarts processes dozens of times.
export default defineConfig({
  test: { ...shared, include: tiers.faults, testTimeout: 3_600_000, hookTimeout: 600_000 },
});
