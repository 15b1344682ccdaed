import type { AppConfig } from '../../config/app-config.js';

export const REDACTED = '[redacted]';

/** Secrets shorter than this are not searched for (they would garble every line; production ones are long). */
const MIN_SECRET_LENGTH = 6;

/** The password of a URL's user-info, as written and decoded; nothing when it has none or is not a URL. */
function urlPasswords(url: string | undefined): string[] {
  if (!url) return [];
  return url.split(',').flatMap((one) => {
    try {
      const password = new URL(one.trim()).password;
      return password ? [password, decodeURIComponent(password)] : [];
    } catch {
      return [];
    }
  });
}

/**
 * Every configured secret value: the internal-service secret, the HS256 secret and the password of
 * every URL (DATABASE_URL, NATS_URL, the downstream services, AUTH_JWKS_URL).
 */
export function configuredSecrets(config: AppConfig): string[] {
  const values = [
    config.auth.internalServiceSecret,
    config.auth.jwtSecret,
    ...urlPasswords(config.database.url),
    ...urlPasswords(config.nats.url),
    ...urlPasswords(config.clients.accountServiceUrl),
    ...urlPasswords(config.clients.organizationServiceUrl),
    ...urlPasswords(config.auth.jwksUrl),
  ];
  return [...new Set(values.filter((v): v is string => v !== undefined && v.length >= MIN_SECRET_LENGTH))];
}

/** `Bearer <credentials>` anywhere, and anything shaped like a JWT (a token pasted into a URL, a message...). */
const BEARER = /(bearer\s+)[A-Za-z0-9._~+/=-]{16,}/gi;
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;

/**
 * The last line of defence of "no secret in the logs" (docs/security.md), for pino's
 * `hooks.streamWrite`: every serialized line loses the configured secret values (as written and as
 * JSON escapes them), bearer credentials and JWT-shaped strings. Structured places are redacted
 * earlier by pino's `redact` paths and the request serializer (which logs no headers); this catches
 * a secret in a message or an error. A line costs one `includes` per secret and three `indexOf`s.
 */
export function createLogScrubber(secrets: readonly string[]): (line: string) => string {
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
    if (out.indexOf('earer') !== -1 || out.indexOf('EARER') !== -1) out = out.replace(BEARER, `$1${REDACTED}`);
    if (out.indexOf('eyJ') !== -1) out = out.replace(JWT, REDACTED);
    return out;
  };
}
