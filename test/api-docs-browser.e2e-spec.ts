import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import request from 'supertest';
import { API, startTestApp, type TestApp } from './support/test-app.js';

/** Debian's Chromium (.ci/run installs it); Playwright never downloads a browser here. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const PRODUCT_PATH = `${API}/products/{product_id}`;
const SLOW = 120_000;

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string; summary?: string }>>;
}

/**
 * The API page as a person sees it: the service's Swagger UI at /docs, opened in headless Chromium,
 * lists every operation of the OpenAPI document (/docs-json), and "Try it out" → "Execute" on
 * GET /products/{product_id} calls the service and shows its 200 response.
 */
describe('API page /docs in a real browser', () => {
  let t: TestApp;
  let context: BrowserContext;
  let page: Page;
  let profileDir: string;
  let operations: string[];
  const pageErrors: string[] = [];
  /** what the page's Content-Security-Policy (src/common/http/http-edge.ts) refused, as Chromium reports it */
  const cspViolations: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    const doc = (await request(t.baseUrl).get('/docs-json').expect(200)).body as OpenApiDocument;
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((m) => METHODS.includes(m))
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
    profileDir = mkdtempSync(join(tmpdir(), 'product-docs-chromium-'));
    // launchPersistentContext: a fresh --user-data-dir of our own (Playwright refuses it in args)
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await page.goto(`${t.baseUrl}/docs`, { waitUntil: 'load' });
    await page.locator('.opblock').first().waitFor({ timeout: 60_000 });
  }, SLOW);

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await t?.close();
  }, SLOW);

  it('should serve the page under its Content-Security-Policy', async () => {
    const page = await request(t.baseUrl).get('/docs').expect(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('should list every operation of the OpenAPI document on the page', async () => {
    expect(operations.length).toBeGreaterThan(20);
    expect(operations).toContain(`GET ${PRODUCT_PATH}`);
    const listed = await page.locator('.opblock').evaluateAll((blocks) =>
      blocks.map((b) => {
        const method = b.querySelector('.opblock-summary-method')?.textContent?.trim() ?? '?';
        const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '?';
        return `${method.toUpperCase()} ${path}`;
      }),
    );
    expect([...new Set(listed)].sort()).toEqual([...new Set(operations)].sort());
    expect(await page.title()).toBe('Swagger UI');
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });

  it('should call GET /products/{product_id} with "Try it out" and "Execute" and show the 200 response', async () => {
    const block = page.locator('.opblock.opblock-get').filter({ has: page.locator(`.opblock-summary-path[data-path="${PRODUCT_PATH}"]`) });
    expect(await block.count()).toBe(1);
    await block.locator('.opblock-summary').click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    await block.locator('tr[data-param-name="product_id"] input').fill('gpt-4o');
    const answered = page.waitForResponse((r) => r.url() === `${t.baseUrl}${API}/products/gpt-4o` && r.request().method() === 'GET');
    await block.getByRole('button', { name: 'Execute' }).click();
    expect((await answered).status()).toBe(200);

    const live = block.locator('.live-responses-table .response');
    await live.first().waitFor();
    expect((await live.locator('.response-col_status').first().textContent())?.trim()).toBe('200');
    const body = await live.locator('.response-col_description pre').first().textContent();
    expect(JSON.parse(body ?? '{}')).toMatchObject({ product_id: 'gpt-4o' });
    expect(await block.locator('.request-url pre').textContent()).toBe(`${t.baseUrl}${API}/products/gpt-4o`);
    expect(pageErrors).toEqual([]);
    expect(cspViolations).toEqual([]);
  });
});
