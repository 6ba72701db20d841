/**
 * Writes configs/schema/campaign.schema.json from the zod schema (`npm run schema`). A test
 * checks the committed file is current, so editors never validate against a stale schema.
 */
import { writeFileSync } from 'node:fs';
import { campaignJsonSchema } from './schema.js';

export const SCHEMA_PATH = new URL('../../configs/schema/campaign.schema.json', import.meta.url);

export function schemaText(): string {
  return JSON.stringify(campaignJsonSchema(), null, 2) + '\n';
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(SCHEMA_PATH, schemaText());
  process.stdout.write(`wrote ${SCHEMA_PATH.pathname}\n`);
}
