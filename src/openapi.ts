import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/**
 * OpenAPI 3 document at /docs-json and its UI at /docs, covering every endpoint. The document is
 * built on the first request for it, not at start-up: scanning every controller and DTO was ~70 ms
 * of a 1.4 s start on the 2-core machine, paid by every replica, for a page few of them serve.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Product service')
    .setDescription(
      'Product catalog, service plans, subscriptions and metered usage. Money is an exact decimal string; ' +
        'timestamps are ISO 8601 UTC; errors have the body `{error: {code, message, details?, request_id}, detail}`.',
    )
    .setVersion('1.0.0')
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-Internal-Service-Secret' }, 'internal')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'user')
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, config), {
    jsonDocumentUrl: 'docs-json',
    useGlobalPrefix: false,
    // The UI's static assets are served by @fastify/static, under Jest too (they could not be on Node 20,
    // where e2e apps turned the UI off; test/api-docs-browser.e2e-spec.ts opens /docs in Chromium).
  });
}
