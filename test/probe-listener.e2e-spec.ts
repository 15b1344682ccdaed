import { connect } from 'node:net';
import request from 'supertest';
import { API, INTERNAL, startTestApp, type TestApp } from './support/test-app.js';

const SLOW = 120_000;

/** Resolves true when a TCP connection to `port` is accepted, false when it is refused. */
const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

/**
 * HEALTH_PORT: the probes and the scrape on a listening socket of their own (a probe's fresh
 * connection never queues behind the API's), served by the same app; the API is not served there.
 */
describe('HEALTH_PORT: the probes on their own listener', () => {
  let t: TestApp;
  let health: string;

  beforeAll(async () => {
    t = await startTestApp({ env: { HEALTH_PORT: '0' } });
    health = t.healthUrl as string;
  }, SLOW);
  afterAll(async () => {
    await t?.close();
  }, SLOW);

  it('listens on a port of its own', () => {
    expect(health).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(health).not.toBe(t.baseUrl);
  });

  it('answers the probes, the /health summary and the scrape as the API port does', async () => {
    await request(health).get('/health/live').expect(200, { status: 'ok' });
    const ready = await request(health).get('/health/ready').expect(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, lifecycle: { status: 'up' } } });
    const summary = await request(health).get('/health').expect(200);
    expect(summary.body).toMatchObject({ service: 'product_service', dependencies: { database: { status: 'healthy' } } });
    const metrics = await request(health).get('/metrics').expect(200);
    expect(metrics.text).toContain('http_request_duration_seconds');
    // through the same app: the request id and the edge headers, and the histogram counts them by route
    expect(ready.headers['x-request-id']).toEqual(expect.any(String));
    expect(ready.headers['x-content-type-options']).toBe('nosniff');
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{[^}]*route="\/health\/ready"[^}]*\} [1-9]/);
    // the API port keeps its probes (SPEC section 6)
    await request(t.baseUrl).get('/health/live').expect(200, { status: 'ok' });
  });

  it('does not serve the API: 404 with the SPEC error body, and nothing is written', async () => {
    const list = await request(health).get(`${API}/products`).expect(404);
    expect(list.body).toMatchObject({ error: { code: 'NOT_FOUND', request_id: expect.any(String) } });
    expect(list.body.error.message).toContain('HEALTH_PORT');

    const body = { user_id: 'probe-port-user', product_id: 'gpt-4o', usage_amount: 10, request_id: 'probe-port-1' };
    await request(health).post(`${API}/usage/record`).set(INTERNAL).send(body).expect(404);
    const records = async () =>
      (await request(t.baseUrl).get(`${API}/usage/records`).query({ user_id: 'probe-port-user' }).set(INTERNAL).expect(200))
        .body as unknown[];
    expect(await records()).toHaveLength(0);
    // the same record on the API port is stored
    await request(t.baseUrl).post(`${API}/usage/record`).set(INTERNAL).send(body).expect(200);
    expect(await records()).toHaveLength(1);
  });

  it(
    'closes with the app',
    async () => {
      const port = Number(new URL(health).port);
      expect(await accepts(port)).toBe(true);
      const second = await startTestApp({ env: { HEALTH_PORT: '0' } });
      const secondPort = Number(new URL(second.healthUrl as string).port);
      expect(await accepts(secondPort)).toBe(true);
      await second.close();
      expect(await accepts(secondPort)).toBe(false);
    },
    SLOW,
  );
});
