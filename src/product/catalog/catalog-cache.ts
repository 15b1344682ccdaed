import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { isInternal, type Principal } from '../../common/auth/principal.js';
import type { AppConfig } from '../../config/app-config.js';

/**
 * How long callers may keep catalog answers (`Cache-Control`, CATALOG_CACHE_MAX_AGE, default 30 s,
 * the same as the replicas' own refresh bound); every answer also carries a strong ETag, so a
 * caller revalidates with `If-None-Match` for a 304. Answers that depend on the caller (internal
 * callers also see non-public plans) are `private` to them, and say what they vary by (`Vary`).
 */
@Injectable()
export class CatalogCache {
  readonly publicControl: string;
  readonly privateControl: string;

  constructor(config: ConfigService<AppConfig, true>) {
    const maxAge = config.get('catalog', { infer: true }).cacheMaxAgeSeconds;
    this.publicControl = `public, max-age=${maxAge}`;
    this.privateControl = `private, max-age=${maxAge}`;
  }

  controlFor(principal: Principal): string {
    return isInternal(principal) ? this.privateControl : this.publicControl;
  }

  /**
   * The request headers an answer that depends on the caller (`controlFor`) varies by: a shared
   * cache must not hand the public plan list it kept to an internal caller, who sees more.
   */
  static readonly CALLER_VARY = 'X-Internal-Service, X-Internal-Service-Secret';
}
