import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { AuthGuard } from './common/auth/auth.guard.js';
import { CommonModule } from './common/common.module.js';
import { AllExceptionsFilter } from './common/http/all-exceptions.filter.js';
import { loggerOptions } from './common/logging/logger.options.js';
import { AppValidationPipe } from './common/validation/validation.pipe.js';
import { type AppConfig, loadConfig } from './config/app-config.js';
import { DatabaseModule } from './database/database.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { IdempotencyModule } from './idempotency/idempotency.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { ProductModule } from './product/product.module.js';
import { RateLimitGuard } from './rate-limit/rate-limit.guard.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';

/**
 * The composition root. Global: configuration, the logger, the clock (CommonModule) and the
 * database. Then the design card's modules, each importing what it uses: ProductModule (business
 * logic), EventsModule (outbox relay, JetStream transport, handlers; it imports ProductModule's
 * port), HealthModule (Terminus), MetricsModule. Global behaviour is registered here as APP_*
 * providers, so a test that compiles `AppModule.forRoot(env)` behaves exactly like production.
 * There is no global interceptor: `Idempotency-Key` is applied where it is accepted (`@Idempotent()`
 * on the POST routes), and lists set their paging headers themselves (`sendPage`), so a route pays
 * only for what it uses.
 */
@Module({})
export class AppModule {
  static forRoot(env: Record<string, string | undefined> = process.env, config: AppConfig = loadConfig(env)): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, ignoreEnvVars: true, load: [() => config] }),
        LoggerModule.forRoot(loggerOptions(config)),
        CommonModule,
        DatabaseModule,
        MetricsModule,
        RateLimitModule,
        IdempotencyModule,
        ProductModule,
        EventsModule,
        HealthModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: AppValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_GUARD, useClass: AuthGuard },
        // after AuthGuard: limits per resolved caller (req.principal); @nestjs/throttler's guard, see RateLimitModule
        // (one instance: it is also AuthGuard's RefusedCallers, counting the requests AuthGuard refuses)
        { provide: APP_GUARD, useExisting: RateLimitGuard },
      ],
    };
  }
}
