// The rate-limit guard's own cost per request, without HTTP: `npm run build && node bench/rate-limit-guard.mjs`.
//
// Every request passes RateLimitGuard, so its cost is part of every figure of bench/run.mjs, too
// small there to see through the noise of a shared machine. This calls canActivate directly, on
// one limited route, for 1,000 anonymous callers (by IP) in turn, with a limit never reached:
//   - memory:  the default (in-process counters): the synchronous path;
//   - shared:  the path taken with RATE_LIMIT_REDIS_URL, with the in-process storage behind it
//              (the guard's own work around the storage call, without the Redis round trip);
//   - stock:   @nestjs/throttler's ThrottlerGuard with its ThrottlerStorageService, for reference
//              (sha256 key, per-request reflection, a timestamp per hit).
// Figures are nanoseconds per request, best of 3 rounds; compare them within one run only.
import 'reflect-metadata';
import { Reflector } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host.js';
import { ThrottlerGuard, ThrottlerStorageService } from '@nestjs/throttler';
import { SystemClock } from '../dist/src/common/clock/clock.js';
import { MemoryThrottlerStorage } from '../dist/src/rate-limit/memory-throttler.storage.js';
import { RateLimitGuard } from '../dist/src/rate-limit/rate-limit.guard.js';

class ProductsController {
  findOne() {}
}
const reply = {
  headers() {
    return this;
  },
  header() {
    return this;
  },
};
const contexts = Array.from({ length: 1000 }, (_, i) => {
  const req = { ip: `10.0.${i >> 8}.${i & 255}`, headers: {}, routeOptions: { url: '/api/v1/product/products/:product_id' } };
  const context = new ExecutionContextHost([req, reply, undefined], ProductsController, ProductsController.prototype.findOne);
  context.setType('http');
  return context;
});
const options = { throttlers: [{ name: 'default', ttl: 60_000, limit: 100_000_000 }] };

async function guard(Guard, storage) {
  const instance = new Guard(options, storage, new Reflector());
  await instance.onModuleInit();
  return instance;
}
const memory = await guard(RateLimitGuard, new MemoryThrottlerStorage(new SystemClock()));
// a storage that is not the in-memory class takes the awaited path, as RedisThrottlerStorage does
const inner = new MemoryThrottlerStorage(new SystemClock());
const shared = await guard(RateLimitGuard, { increment: (...args) => inner.increment(...args) });
const stock = await guard(ThrottlerGuard, new ThrottlerStorageService());

async function measure(instance, n) {
  for (let i = 0; i < 20_000; i++) {
    const result = instance.canActivate(contexts[i % 1000]);
    if (typeof result !== 'boolean') await result;
  }
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const result = instance.canActivate(contexts[i % 1000]);
    if (typeof result !== 'boolean') await result;
  }
  return Number(process.hrtime.bigint() - start) / n;
}

const best = { memory: Infinity, shared: Infinity, stock: Infinity };
for (let round = 0; round < 3; round++) {
  best.memory = Math.min(best.memory, await measure(memory, 1_000_000));
  best.shared = Math.min(best.shared, await measure(shared, 1_000_000));
  best.stock = Math.min(best.stock, await measure(stock, 100_000));
}
console.log(`Node ${process.version}, ns per request (best of 3):`);
console.log(`  RateLimitGuard, in-process counters (synchronous) ${best.memory.toFixed(0).padStart(7)}`);
console.log(`  RateLimitGuard, shared-storage path (no network)  ${best.shared.toFixed(0).padStart(7)}`);
console.log(`  stock ThrottlerGuard + ThrottlerStorageService    ${best.stock.toFixed(0).padStart(7)}`);
process.exit(0);
