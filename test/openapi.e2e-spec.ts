import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import request from 'supertest';
import { API_PREFIX } from '../src/bootstrap.js';
import { startTestApp, type TestApp } from './support/test-app.js';

interface Operation {
  summary?: string;
  responses: Record<string, { content?: Record<string, { example?: unknown; examples?: unknown; schema?: { example?: unknown } }> }>;
}

/** Jest ignores the e2e project's testTimeout: hooks that start apps say theirs. */
const SLOW = 120_000;

type Fastify = { hasRoute: (o: { method: string; url: string }) => boolean };

const join = (...parts: (string | undefined)[]): string =>
  `/${parts
    .filter((p): p is string => !!p)
    .flatMap((p) => p.split('/'))
    .filter((s) => s.length > 0)
    .join('/')}`;

/**
 * /docs-json must document every route the app serves (SPEC section 6: "covering every endpoint"),
 * /metrics included (text/plain, since 2026-12-08). Not documented: the /docs pages themselves.
 */
describe('OpenAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ pglite: true });
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  }, SLOW);

  /** Every controller route as Fastify serves it ("GET /api/v1/product/products/:product_id"). */
  const servedRoutes = (): string[] => {
    const fastify = t.app.getHttpAdapter().getInstance() as unknown as Fastify;
    const routes: string[] = [];
    for (const module of t.app.get(ModulesContainer).values()) {
      for (const wrapper of module.controllers.values()) {
        const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
        if (!type) continue;
        const base = (Reflect.getMetadata(PATH_METADATA, type) as string | undefined) ?? '';
        for (const name of Object.getOwnPropertyNames(type.prototype)) {
          const handler = (type.prototype as Record<string, unknown>)[name];
          if (name === 'constructor' || typeof handler !== 'function') continue;
          const path = Reflect.getMetadata(PATH_METADATA, handler) as string | undefined;
          const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
          if (path === undefined || method === undefined) continue;
          const verb = RequestMethod[method];
          const prefixed = join(API_PREFIX, base, path);
          const bare = join(base, path);
          const url = fastify.hasRoute({ method: verb, url: prefixed }) ? prefixed : bare;
          expect([verb, url, fastify.hasRoute({ method: verb, url })]).toEqual([verb, url, true]);
          routes.push(`${verb} ${url}`);
        }
      }
    }
    return routes;
  };

  it('should document every served route, /metrics included', async () => {
    const doc = (await request(t.baseUrl).get('/docs-json').expect(200)).body as {
      openapi: string;
      paths: Record<string, Record<string, Operation>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`),
      ),
    );
    const served = servedRoutes();
    expect(served).toEqual(
      expect.arrayContaining(['GET /metrics', `GET /${API_PREFIX}/products`, `PUT /${API_PREFIX}/products/:product_id/pricing`]),
    );
    expect(served.filter((r) => !documented.has(r))).toEqual([]);
  });

  it('should document the bodies that field-table pipes check, not only those class-validator checks', async () => {
    // RecordUsagePipe and CreateSubscriptionPipe take a mapped type (emitted as Object): @ApiBody names the DTO
    const doc = (await request(t.baseUrl).get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { $ref?: string } }> } }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const bodyOf = (path: string): string | undefined => doc.paths[path]?.post?.requestBody?.content?.['application/json']?.schema?.$ref;
    expect(bodyOf(`/${API_PREFIX}/subscriptions`)).toBe('#/components/schemas/CreateSubscriptionDto');
    expect(bodyOf(`/${API_PREFIX}/usage/record`)).toBe('#/components/schemas/RecordUsageDto');
    expect(Object.keys(doc.components.schemas.CreateSubscriptionDto.properties ?? {})).toEqual([
      'user_id',
      'plan_id',
      'organization_id',
      'billing_cycle',
      'seats',
      'trial',
      'payment_method_id',
      'metadata',
    ]);
  });

  it('should give every catalog operation a summary and an example response', async () => {
    const doc = (await request(t.baseUrl).get('/docs-json').expect(200)).body as { paths: Record<string, Record<string, Operation>> };
    const catalog = Object.entries(doc.paths).filter(([path]) => /\/(categories|products|plans|info)/.test(path));
    expect(catalog.length).toBeGreaterThanOrEqual(6);
    for (const [path, ops] of catalog) {
      for (const [method, op] of Object.entries(ops)) {
        const ok = Object.entries(op.responses).find(([status]) => status.startsWith('2'));
        const content = ok?.[1].content?.['application/json'];
        const hasExample = content?.example !== undefined || content?.examples !== undefined || content?.schema?.example !== undefined;
        expect({ method, path, summary: typeof op.summary, hasExample }).toEqual({ method, path, summary: 'string', hasExample: true });
      }
    }
  });
});
