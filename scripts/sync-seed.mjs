// Regenerates src/database/seed/catalog-data.ts from ../shared/seed-data/catalog.json (the reference
// catalog). The service itself never reads ../shared at run time.
import { readFileSync, writeFileSync } from 'node:fs';

const source = new URL('../../shared/seed-data/catalog.json', import.meta.url);
const target = new URL('../src/database/seed/catalog-data.ts', import.meta.url);
const { about: _about, ...catalog } = JSON.parse(readFileSync(source, 'utf8'));
writeFileSync(
  target,
  `/* Generated from shared/seed-data/catalog.json: the reference catalog seeded on an empty database. */
/* The service never reads ../shared at run time; regenerate with \`npm run seed:sync\` when the reference changes. */
import type { CatalogSeed } from './catalog-seed.types.js';

export const CATALOG_SEED: CatalogSeed = ${JSON.stringify(catalog, null, 2)};
`,
);
console.log('wrote', target.pathname);
