import { CreateCatalog1764250000000 } from './1764250000000-CreateCatalog.js';

/** Every migration, in order (ESM: listed as classes, no globs). Append new ones at the end. */
export const MIGRATIONS = [CreateCatalog1764250000000];
