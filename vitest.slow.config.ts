import { defineConfig } from 'vitest/config';
import { shared, tagsFilter, tiers } from './vitest.config.js';

// The slow tier, `npm run test:slow` (issue #15): whole files marked `// @module-tag slow`
// and the tests tagged 'slow' in other files.
export default defineConfig({
  test: { ...shared, include: [...tiers.slowFiles, ...tiers.withSlowTests], ...tagsFilter('slow') },
});
