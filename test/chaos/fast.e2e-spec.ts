import { loadChaosConfig } from './support/config.js';
import { serviceKill } from './scenarios/service-kill.js';

/**
 * The chaos suite's fast subset inside `npm test` (the e2e project): scenario 1 (service kill -9
 * under load, then restart) at a reduced rate and duration, one replica, one kill. It asserts the
 * counting invariants (nothing answered lost, nothing stored twice, one event per stored change,
 * legal subscription chains); the scenario's other checks (clean failures, timeouts, retried keys)
 * are written to test/chaos/results/fast-service-kill.json and printed, not asserted here:
 * `npm run test:chaos` asserts them all.
 */
describe('chaos (fast subset): service kill -9 under load', () => {
  it('loses nothing answered and publishes every stored change once', async () => {
    const config = loadChaosConfig({
      rate: Number(process.env.CHAOS_FAST_RATE ?? 100),
      timeScale: Number(process.env.CHAOS_FAST_TIME_SCALE ?? 0.5),
    });
    const result = await serviceKill(config, { kills: 1, replicas: 1, name: 'fast-service-kill' });
    const invariant = /^(usage|outbox|subscriptions):/;
    expect(result.checks.filter((c) => !c.ok && invariant.test(c.name)).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
    expect(result.checks.filter((c) => invariant.test(c.name)).length).toBeGreaterThan(10);
  }, 300_000);
});
