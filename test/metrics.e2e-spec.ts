import request from 'supertest';
import { API, startTestApp, type TestApp } from './support/test-app.js';

/** Value of the first sample line starting with `prefix` in a Prometheus text exposition. */
const sample = (text: string, prefix: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('metrics (PostgreSQL)', () => {
  let t: TestApp;
  let text: string;

  beforeAll(async () => {
    t = await startTestApp();
    await request(t.baseUrl).get(`${API}/info`).expect(200);
    await request(t.baseUrl).get(`${API}/info`).expect(200);
    await request(t.baseUrl).get(`${API}/no/such/route/12345`).expect(404);
    await request(t.baseUrl).get('/health/ready').expect(200);
    const res = await request(t.baseUrl).get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    text = res.text;
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should record request latency by route pattern, method and status', () => {
    expect(text).toContain('# TYPE http_request_duration_seconds histogram');
    expect(sample(text, `http_request_duration_seconds_count{method="GET",route="${API}/info",status_code="200"}`)).toBe(2);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="GET",route="\/health\/ready",status_code="200"\} \d+/);
  });

  it('should label unknown routes as unmatched instead of the raw URL', () => {
    expect(sample(text, 'http_request_duration_seconds_count{method="GET",route="unmatched",status_code="404"}')).toBe(1);
    expect(text).not.toContain('12345');
  });

  it('should label parameterised routes with their pattern', async () => {
    await request(t.baseUrl).get(`${API}/products/gpt-4o`).expect(200);
    await request(t.baseUrl).get(`${API}/products/some-unknown-product-xyz`).expect(404);
    const res = await request(t.baseUrl).get('/metrics').expect(200);
    const route = `route="${API}/products/:product_id"`;
    expect(sample(res.text, `http_request_duration_seconds_count{method="GET",${route},status_code="200"}`)).toBe(1);
    expect(sample(res.text, `http_request_duration_seconds_count{method="GET",${route},status_code="404"}`)).toBe(1);
    expect(res.text).not.toContain('some-unknown-product-xyz');
    expect(res.text).not.toContain('gpt-4o');
  });

  it('should expose the default process metrics', () => {
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('nodejs_heap_size_used_bytes');
  });

  it('should expose the database pool gauges read from the pg pool', () => {
    expect(sample(text, 'product_db_pool_max')).toBe(10);
    const total = sample(text, 'product_db_pool_total');
    const idle = sample(text, 'product_db_pool_idle');
    expect(total).toBeGreaterThanOrEqual(1);
    expect(idle).toBeGreaterThanOrEqual(0);
    expect(idle).toBeLessThanOrEqual(total as number);
    expect(sample(text, 'product_db_pool_waiting')).toBe(0);
  });
});

describe('metrics (PGlite)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ pglite: true });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should report the single embedded connection and no pool counters', async () => {
    await request(t.baseUrl).get('/health/live').expect(200);
    const res = await request(t.baseUrl).get('/metrics').expect(200);
    expect(sample(res.text, 'product_db_pool_total')).toBe(1);
    expect(sample(res.text, 'product_db_pool_max')).toBe(1);
    expect(res.text).not.toContain('product_db_pool_waiting');
    expect(sample(res.text, 'http_request_duration_seconds_count{method="GET",route="/health/live",status_code="200"}')).toBe(1);
  });
});
