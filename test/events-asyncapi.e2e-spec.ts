import { Parser } from '@asyncapi/parser';
import request from 'supertest';
import { PUBLISHED_EVENTS } from '../src/events/models/event-catalog.js';
import { startTestApp, type TestApp } from './support/test-app.js';

describe('events: AsyncAPI document', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ pglite: true });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
  }, 60_000);

  it('should serve a valid AsyncAPI 3 document at /docs/asyncapi.json without credentials', async () => {
    const res = await request(t.baseUrl).get('/docs/asyncapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(res.body.asyncapi).toBe('3.0.0');
    const { document, diagnostics } = await new Parser().parse(JSON.stringify(res.body));
    const errors = diagnostics.filter((d) => Number(d.severity) === 0); // DiagnosticSeverity.Error
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document).toBeDefined();
    expect(document!.channels().length).toBe(PUBLISHED_EVENTS.length + 3 + 1);
  }, 30_000);

  it('should describe every published and consumed channel with payload schemas derived from the event classes', async () => {
    const doc = (await request(t.baseUrl).get('/docs/asyncapi.json').expect(200)).body;
    const addresses = Object.values(doc.channels).map((c: any) => c.address); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const { type } of PUBLISHED_EVENTS) expect(addresses).toContain(`events.product_service.${type}`);
    expect(addresses).toEqual(
      expect.arrayContaining([
        'events.{source}.payment.completed',
        'events.{source}.wallet.insufficient_funds',
        'events.{source}.user.deleted',
      ]),
    );
    const created = doc.components.schemas.SubscriptionCreatedEvent;
    expect(created.required).toEqual(expect.arrayContaining(['subscription_id', 'price', 'trial_end']));
    expect(created.properties.price).toMatchObject({ type: 'string', format: 'decimal' });
    expect(created.properties.trial_end.type).toEqual(['string', 'null']);
    expect(doc.components.schemas.PaymentCompletedEvent.properties.metadata.properties.subscription_id).toBeDefined();
    expect(doc.components.messages.subscriptionCreated.payload.properties.data).toEqual({
      $ref: '#/components/schemas/SubscriptionCreatedEvent',
    });
  }, 30_000);
});
