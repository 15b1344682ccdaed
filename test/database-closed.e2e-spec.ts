import request from 'supertest';
import { DataSource } from 'typeorm';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

/**
 * A request that reaches the app after its database closed (the last step of a shutdown, or a
 * listener left open past it) is answered 503 with the SPEC body, never 500: TypeORM's "Driver not
 * Connected" is the database being unavailable, as a refused connection is.
 */
describe('requests after the database closed', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
    await t.app.get(DataSource).destroy();
  });
  afterAll(async () => {
    await t?.close().catch(() => undefined); // the DataSource is already gone
  });

  it('should answer a usage record 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    const res = await request(t.baseUrl)
      .post(`${API}/usage/record`)
      .set('X-User-Id', 'closed_user')
      .send({ user_id: 'closed_user', product_id: 'gpt-4o', usage_amount: 1, request_id: 'closed-1' })
      .expect(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
    expect(res.headers['retry-after']).toBe('1');
  });

  it('should answer a subscription read 503 as well', async () => {
    const res = await request(t.baseUrl).get(`${API}/subscriptions`).set(INTERNAL).expect(503);
    expect(res.body.error.code).toBe('SERVICE_UNAVAILABLE');
  });
});
