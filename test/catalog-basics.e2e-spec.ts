import request from 'supertest';
import { API, startTestApp, type TestApp } from './support/test-app.js';

describe('foundation (PostgreSQL)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('should serve /info with the service name and echo X-Request-Id', async () => {
    const res = await request(t.baseUrl).get(`${API}/info`).set('X-Request-Id', 'req-123').expect(200);
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(res.body.service).toBe('product_service');
  });

  it('should answer an unknown route with the SPEC error body', async () => {
    const res = await request(t.baseUrl).get(`${API}/nope`).expect(404);
    expect(res.body.error.code).toBe('NOT_FOUND');
    expect(res.body.detail).toBe(res.body.error.message);
    expect(res.body.error.request_id).toBe(res.headers['x-request-id']);
  });

  it('should report ready once migrations are applied', async () => {
    const res = await request(t.baseUrl).get('/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
  });
});
