import { CreateCatalog1764250000000 } from './1764250000000-CreateCatalog.js';
import { CreateOutbox1764255000000 } from './1764255000000-CreateOutbox.js';
import { CreateInbox1764270000000 } from './1764270000000-CreateInbox.js';

/** Every migration, in order (ESM: listed as classes, no globs). Append new ones at the end. */
export const MIGRATIONS = [CreateCatalog1764250000000, CreateOutbox1764255000000, CreateInbox1764270000000];
