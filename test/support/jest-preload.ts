/**
 * Jest `setupFiles` (unit and e2e): evaluates `@nestjs/common` and `@nestjs/core` before a spec's
 * own module graph is loaded.
 *
 * Why: `@nestjs/throttler` and `@nest-lab/throttler-storage-redis` are CommonJS and `require()`
 * the ESM-only `@nestjs/common`. When Jest (30, `--experimental-vm-modules`) loads an ES module
 * graph, it runs the CommonJS modules of the graph first, in discovery order, before the graph's
 * ES modules (a divergence from Node, which runs them in post-order; jest-runtime's
 * `walkGraphSync` says so). So in a graph that imports both `@nestjs/common` and
 * `@nestjs/throttler` (any app using the throttler), the throttler's `require('@nestjs/common')`
 * meets `@nestjs/common` linked but not yet evaluated, in the walk still on the stack, and Jest
 * refuses it: "Cannot require() ES Module .../@nestjs/common/index.js in a cycle"
 * (ERR_REQUIRE_CYCLE_MODULE). Node itself loads the same graph (npm start); a two-line spec
 * `import '@nestjs/common'; import { ThrottlerGuard } from '@nestjs/throttler';` reproduces it on
 * Node 24.22. (On Node 20 it fails earlier, preload or not: Jest's runtime cannot require() an ES
 * module at all before Node 24.9, "Must use import to load ES Module".)
 *
 * Evaluated here first, in a graph of their own, the two packages are registry entries when the
 * spec's graph is walked: the CommonJS `require()` gets the evaluated module, as under Node.
 * Nothing is mocked or skipped; the modules are the same instances the spec imports.
 */
import '@nestjs/common';
import '@nestjs/core';
