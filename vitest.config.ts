import { defineConfig } from 'vitest/config';

// Unit tests sit beside the code (*.test.ts); cross-cutting suites live in tests/.
// Integration tests talk to real brokers and spawn the CLI, so they get generous timeouts;
// speed targets live in benchmarks (npm run bench), never here.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'agents/**/*.test.ts', 'twins/**/*.test.ts', 'robots/**/*.test.ts', 'tests/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
