import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Db } from './checks.js';
import type { ChaosConfig } from './config.js';
import { NatsCluster } from './nats-cluster.js';
import { PgCluster } from './pg-cluster.js';
import { startPlatform } from './platform.js';
import { freePorts, waitFor } from './proc.js';
import { ChaosRun, say } from './run.js';
import { ensureBuilt, INTERNAL_SECRET, ServiceProcess } from './service.js';

export const STREAM = 'EVENTS';
export const PREFIX = 'events';

export interface EnvironmentOptions {
  replicas?: number;
  /** extra service environment */
  serviceEnv?: Record<string, string>;
}

/**
 * Everything one scenario runs against, all its own: a PostgreSQL cluster, a three-node JetStream
 * cluster with the EVENTS stream at 3 replicas, the fake account and organization services, and
 * one or more service processes sharing the database and the stream.
 */
export class ChaosEnvironment {
  readonly services: ServiceProcess[] = [];
  /** findings about the environment itself (e.g. the service refusing a NATS server list) */
  readonly findings: string[] = [];
  databaseUrl = '';
  natsUrl = '';

  private constructor(
    readonly run: ChaosRun,
    readonly config: ChaosConfig,
    readonly pg: PgCluster,
    readonly nats: NatsCluster,
    readonly db: Db,
    readonly bus: NatsConnection,
  ) {}

  static async start(scenario: string, config: ChaosConfig, options: EnvironmentOptions = {}): Promise<ChaosEnvironment> {
    await ensureBuilt();
    const run = await ChaosRun.start(scenario);
    try {
      const started = Date.now();
      // both at once; wait for both even when one fails, so nothing is still starting when the run closes
      const [pgStarted, natsStarted] = await Promise.allSettled([
        PgCluster.create(run, { fsync: config.pgFsync }),
        NatsCluster.create(run),
      ]);
      if (pgStarted.status === 'rejected') throw pgStarted.reason;
      if (natsStarted.status === 'rejected') throw natsStarted.reason;
      const [pgCluster, nats] = [pgStarted.value, natsStarted.value];
      const databaseUrl = await pgCluster.createDatabase('product');
      await nats.createStream(STREAM, PREFIX);
      const bus = await nats.client();
      run.defer('suite NATS connection', () => bus.close());
      const db = new Db(databaseUrl);
      run.defer('suite database pool', () => db.close());
      const env = new ChaosEnvironment(run, config, pgCluster, nats, db, bus);
      env.databaseUrl = databaseUrl;
      const platform = await startPlatform(run);
      env.natsUrl = nats.urls.join(',');
      const replicas = options.replicas ?? 1;
      const ports = await freePorts(replicas * 2);
      for (const [i, port] of ports.slice(0, replicas).entries()) {
        env.services.push(
          new ServiceProcess(
            run,
            `service-${i + 1}`,
            port,
            {
              NODE_ENV: 'production',
              HOST: '127.0.0.1',
              DATABASE_URL: databaseUrl,
              NATS_URL: env.natsUrl,
              EVENTS_STREAM: STREAM,
              INTERNAL_SERVICE_SECRET: INTERNAL_SECRET,
              AUTH_TRUST_USER_HEADER: 'true',
              ...platform.env,
              LOG_LEVEL: config.logLevel,
              SHUTDOWN_GRACE_MS: '500',
              RATE_LIMIT_PER_MIN: '100000000',
              EVENTS_RETRY_BACKOFF: '200ms',
              CLIENT_TIMEOUT_MS: '2000',
              ...(options.serviceEnv ?? {}),
            },
            ports[replicas + i],
          ),
        );
      }
      // the first one migrates and seeds; the others start on the migrated database
      try {
        await env.services[0].start();
      } catch (err) {
        // a client of a cluster is given every node; a service that refuses the list gets the first node only
        const refusal = env.services[0]
          .logTail(5)
          .split('\n')
          .find((l) => l.includes('NATS_URL'));
        if (!refusal) throw err;
        env.findings.push(
          `the service refuses NATS_URL as a comma-separated server list (${refusal.slice(0, 200)}); it was given ${nats.urls[0]} only`,
        );
        say(scenario, `FINDING: NATS_URL list refused; using ${nats.urls[0]} (the client learns the other nodes from the cluster)`);
        env.natsUrl = nats.urls[0];
        for (const s of env.services) s.setEnv('NATS_URL', env.natsUrl);
        env.services[0].starts = 0; // the refused start does not count as a start of the service
        await env.services[0].start();
      }
      await Promise.all(env.services.slice(1).map((s) => s.start()));
      say(
        scenario,
        `environment up in ${((Date.now() - started) / 1000).toFixed(1)} s: postgres :${pgCluster.port}, nats ${nats.urls.join(' ')}, ${env.services.map((s) => `${s.name} :${s.port}`).join(', ')}`,
      );
      return env;
    } catch (err) {
      await run.close();
      throw err;
    }
  }

  /** base URLs of the running service processes */
  targets(): string[] {
    return this.services.map((s) => s.baseUrl);
  }

  /** Waits until every durable consumer of the service exists (the service connected and subscribed). */
  async waitForConsumers(timeoutMs = 30_000): Promise<void> {
    const jsm = await jetstreamManager(this.bus);
    await waitFor(
      'durable consumers of the service',
      async () => {
        const names = ['product_service_payment_completed', 'product_service_wallet_insufficient_funds', 'product_service_user_deleted'];
        for (const n of names) await jsm.consumers.info(STREAM, n);
        return true;
      },
      timeoutMs,
      250,
    );
  }

  close(): Promise<void> {
    return this.run.close();
  }
}
