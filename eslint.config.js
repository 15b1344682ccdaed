import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layering (docs/architecture.md), enforced: each zone lists the folders its files must not
 * import from. Arrows point down: config ← common ← database ← idempotency, audit, clients, metrics,
 * rate-limit, events/outbox ← product (costs, catalog ← admin; catalog ← subscriptions ← usage (+ costs) ← pricing)
 * ← events ← health ← app.
 */
const UP = {
  app: ['**/app.module.js', '**/bootstrap.js', '**/main.js', '**/openapi.js'],
  database: ['**/database/**'],
  features: ['**/idempotency/**', '**/audit/**', '**/clients/**', '**/metrics/**', '**/rate-limit/**'],
  health: ['**/health/**'],
  // the features may use the writing half of the events module (publishers, outbox, event models), nothing else
  eventsBeyondPublishing: [
    '**/events/transport/**',
    '**/events/handlers/**',
    '**/events/inbox/**',
    '**/events/asyncapi/**',
    '**/events/cli/**',
    '**/events/events.*',
    '**/events/outbox/outbox.relay*',
  ],
  events: ['**/events/**'],
  // the events module reaches the business side only through ProductModule's exported port (product.ports.ts)
  productBeyondPorts: [
    '**/product/catalog/**',
    '**/product/subscriptions/**',
    '**/product/usage/**',
    '**/product/pricing/**',
    '**/product/statistics/**',
    '**/product/costs/**',
    '**/product/admin/**',
    '**/product/product.module*',
    '**/product/info*',
  ],
  product: ['**/product/**'],
};

const zone = (files, groups, message) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns: [{ group: groups.flat(), message }] }] },
});

const layering = [
  zone(['src/config/**/*.ts'], [['../*', '../**']], 'config is the bottom layer: it imports nothing of the service'),
  zone(
    ['src/common/**/*.ts'],
    [UP.app, UP.database, UP.features, UP.events, UP.product, UP.health],
    'common holds cross-cutting pieces only: it must not import features, events, health or the database',
  ),
  zone(['src/database/**/*.ts'], [UP.app, UP.features, UP.events, UP.product, UP.health], 'database must not import features'),
  zone(
    ['src/idempotency/**/*.ts', 'src/audit/**/*.ts', 'src/clients/**/*.ts', 'src/metrics/**/*.ts', 'src/rate-limit/**/*.ts'],
    [UP.app, UP.events, UP.product, UP.health],
    'idempotency, audit, clients, metrics and rate-limit sit below the business logic and the event bus',
  ),
  zone(
    ['src/events/**/*.ts'],
    [UP.app, UP.health, UP.productBeyondPorts],
    'the events module reaches product only through src/product/product.ports.ts',
  ),
  zone(
    ['src/product/catalog/**/*.ts'],
    [
      UP.app,
      UP.health,
      UP.eventsBeyondPublishing,
      ['**/subscriptions/**', '**/usage/**', '**/pricing/**', '**/statistics/**', '**/product/costs/**', '**/product/admin/**'],
    ],
    'catalog is the lowest feature: it imports no other feature',
  ),
  zone(
    ['src/product/costs/**/*.ts'],
    [
      UP.app,
      UP.health,
      UP.eventsBeyondPublishing,
      ['**/product/catalog/**', '**/subscriptions/**', '**/usage/**', '**/pricing/**', '**/statistics/**', '**/product/admin/**'],
    ],
    'costs (provider cost definitions) is a lowest feature: it imports no other feature',
  ),
  zone(
    ['src/product/admin/**/*.ts'],
    [UP.app, UP.health, UP.eventsBeyondPublishing, ['**/subscriptions/**', '**/usage/**', '**/pricing/**', '**/statistics/**']],
    'admin works over the catalog and the cost definitions only',
  ),
  zone(
    ['src/product/subscriptions/**/*.ts'],
    [UP.app, UP.health, UP.eventsBeyondPublishing, ['**/usage/**', '**/pricing/**', '**/statistics/**', '**/product/admin/**']],
    'subscriptions may use the catalog, not usage or pricing',
  ),
  zone(
    ['src/product/usage/**/*.ts'],
    [UP.app, UP.health, UP.eventsBeyondPublishing, ['**/product/pricing/**', '**/statistics/**', '**/product/admin/**']],
    'usage may use the catalog, subscriptions and the cost definitions, not pricing',
  ),
  zone(
    ['src/product/pricing/**/*.ts', 'src/product/statistics/**/*.ts', 'src/product/*.ts'],
    [UP.app, UP.health, UP.eventsBeyondPublishing],
    'product must not import health or the event bus beyond its publishers',
  ),
  zone(['src/health/**/*.ts'], [UP.app, UP.product], 'health reports on the infrastructure: it has no business with product'),
];

/** SQL stays in repositories: only they (and the database layer) reach the EntityManager behind a Tx. */
const MANAGER_OF = {
  group: ['**/database/transaction.js'],
  allowTypeImports: true,
  message: 'only repositories (*.repository.ts) may use managerOf: services pass the Tx on',
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.data/**', '.tools/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/explicit-module-boundary-types': 'off',
    },
  },
  ...layering,
  {
    files: ['src/**/*.ts'],
    ignores: ['src/**/*.repository.ts', 'src/database/**', 'src/**/*.spec.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [MANAGER_OF] }] },
  },
  {
    // services hold rules only: no TypeORM values (entities as types are fine), no SQL
    files: ['src/**/*.service.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'typeorm', message: 'services never use TypeORM: ask a repository' },
            { name: '@nestjs/typeorm', message: 'services never use TypeORM: ask a repository' },
            { name: 'pg', message: 'services never talk to the database: ask a repository' },
          ],
          patterns: [MANAGER_OF],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  prettier,
);
