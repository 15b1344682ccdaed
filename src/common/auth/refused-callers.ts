import type { ExecutionContext } from '@nestjs/common';

/**
 * Told by AuthGuard about each request it refuses (401 bad or missing credentials, 403 a route above
 * the caller's level), before the refusal is thrown. The rate limits (RateLimitModule provides it)
 * count refused requests as any other: a guessed internal secret or a forged token is a request of
 * its caller (the client IP, or the user a 403 knows), and once that caller is over its limit the
 * answer is the 429 (thrown from `count`), not another 401. Without a provider nothing is counted.
 */
export abstract class RefusedCallers {
  /** Counts the refused request; throws the 429 when its caller is over the limit. */
  abstract count(context: ExecutionContext): void | Promise<void>;
}
