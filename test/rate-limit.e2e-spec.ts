import request from 'supertest';
import { ManualClock } from '../src/common/clock/clock.js';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

describe('rate limits per caller (RATE_LIMIT_PER_MIN=5)', () => {
  let t: TestApp;
  const clock = new ManualClock('2026-11-27T10:00:00.000Z');
  const get = (path: string, headers: Record<string, string> = {}) => request(t.baseUrl).get(path).set(headers);

  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_MIN: '5' }, clock });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should allow a user 5 requests a minute, then answer 429 RATE_LIMITED with Retry-After', async () => {
    for (let i = 0; i < 5; i++) {
      const ok = await get(`${API}/info`, { 'X-User-Id': 'user-a' }).expect(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('5');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(4 - i));
    }
    clock.advance(15_000);
    const res = await get(`${API}/info`, { 'X-User-Id': 'user-a', 'X-Request-Id': 'rl-1' }).expect(429);
    expect(res.headers['retry-after']).toBe('45');
    expect(res.headers['x-request-id']).toBe('rl-1');
    expect(res.body).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.stringContaining('Rate limit'), request_id: 'rl-1' },
      detail: res.body.error.message,
    });
  });

  it('should give another user a separate bucket', async () => {
    await get(`${API}/info`, { 'X-User-Id': 'user-b' }).expect(200);
    await get(`${API}/info`, { 'X-User-Id': 'user-a' }).expect(429);
  });

  it('should limit anonymous callers by client IP, apart from users', async () => {
    for (let i = 0; i < 5; i++) await get(`${API}/info`).expect(200);
    const res = await get(`${API}/info`).expect(429);
    expect(res.body.error.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    await get(`${API}/info`, { 'X-User-Id': 'user-c' }).expect(200);
  });

  it('should not limit internal services', async () => {
    for (let i = 0; i < 8; i++) {
      const res = await get(`${API}/info`, INTERNAL).expect(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('should not limit health probes (and the /health aliases) or metrics scrapes', async () => {
    for (let i = 0; i < 8; i++) {
      await get('/health/live').expect(200);
      await get('/metrics').expect(200);
      await get('/api/v1/products/health').expect(200);
      await get('/api/v1/product/health').expect(200);
    }
    const metrics = await get('/metrics').expect(200);
    expect(metrics.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/api\/v1\/product\/info",status_code="429"\} [1-9]/,
    );
  });

  it('should let a limited user in again once the minute has passed', async () => {
    await get(`${API}/info`, { 'X-User-Id': 'user-a' }).expect(429);
    clock.advance(60_000);
    const res = await get(`${API}/info`, { 'X-User-Id': 'user-a' }).expect(200);
    expect(res.headers['x-ratelimit-remaining']).toBe('4');
  });
});
