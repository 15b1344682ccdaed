import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager, RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { freePorts, idle, isAlive, StopWaiting, waitFor } from './proc.js';
import { say, type ChaosRun } from './run.js';

const NATS_SERVER = process.env.CHAOS_NATS_SERVER ?? '/usr/sbin/nats-server';

/** The stream the service would create (src/events/transport/stream.ts): `<prefix>.>`, 2-minute duplicate window; here at 3 replicas. */
export const STREAM_DUPLICATE_WINDOW_MS = 120_000;

interface NatsNode {
  name: string;
  port: number;
  clusterPort: number;
  storeDir: string;
  logFile: string;
  process?: ChildProcess;
}

/** A node could not listen: one of its ports was taken by the time it started (see NatsCluster.create). */
class PortTaken extends StopWaiting {}

/** Whether a node's log ends with nats-server's fatal "address already in use" (client or route port). */
const portTaken = (logFile: string): boolean => {
  try {
    return /\[FTL\] Error listening on .*address already in use/.test(readFileSync(logFile, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * A JetStream cluster of the run's own: three nats-server processes on loopback ports, routes to
 * each other, one store directory each. Faults: kill -9 / stop / start one node or all, SIGSTOP and
 * SIGCONT all.
 */
export class NatsCluster {
  readonly nodes: NatsNode[];
  readonly clusterName: string;

  private constructor(
    private readonly run: ChaosRun,
    ports: number[],
    size: number,
  ) {
    this.clusterName = `chaos_${run.id}`;
    this.nodes = Array.from({ length: size }, (_, i) => ({
      name: `n${i + 1}`,
      port: ports[2 * i],
      clusterPort: ports[2 * i + 1],
      storeDir: join(run.scratch, 'nats', `n${i + 1}`),
      logFile: join(run.logDir, `nats-n${i + 1}.log`),
    }));
  }

  /**
   * Ports free when chosen may be bound by something else before a node binds them (another
   * process's listen(0), an outgoing connection's ephemeral port): a node that exits on "address
   * already in use" stops the wait at once, and the whole cluster starts again on new ports.
   */
  static async create(run: ChaosRun, size = 3): Promise<NatsCluster> {
    for (let attempt = 1; ; attempt++) {
      const cluster = new NatsCluster(run, await freePorts(2 * size), size);
      try {
        await cluster.startAll();
        run.defer('nats cluster', () => cluster.stopAll());
        return cluster;
      } catch (err) {
        await cluster.stopAll();
        if (attempt >= 3 || !(err instanceof PortTaken)) throw err;
        say('nats', `${err.message}; starting the cluster again on other ports`);
      }
    }
  }

  /** Client URLs of all nodes, in node order. */
  get urls(): string[] {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`);
  }

  node(name: string): NatsNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no NATS node ${name}`);
    return node;
  }

  pids(): number[] {
    return this.nodes.map((n) => n.process?.pid).filter((p): p is number => p !== undefined && isAlive(p));
  }

  startNode(name: string): void {
    const node = this.node(name);
    if (node.process && node.process.exitCode === null && node.process.signalCode === null) return;
    mkdirSync(node.storeDir, { recursive: true });
    const routes = this.nodes.filter((n) => n !== node).map((n) => `nats://127.0.0.1:${n.clusterPort}`);
    const log = openSync(node.logFile, 'a');
    const child = spawn(
      NATS_SERVER,
      [
        '-a',
        '127.0.0.1',
        '-p',
        String(node.port),
        '-n',
        node.name,
        '--cluster_name',
        this.clusterName,
        '--cluster',
        `nats://127.0.0.1:${node.clusterPort}`,
        '--routes',
        routes.join(','),
        '-js',
        '-sd',
        node.storeDir,
      ],
      { stdio: ['ignore', log, log] },
    );
    closeSync(log);
    this.run.trackPid(child.pid!);
    node.process = child;
  }

  /** Starts every stopped node and waits until JetStream answers (a meta leader is elected). */
  async startAll(): Promise<void> {
    for (const n of this.nodes) this.startNode(n.name);
    await this.waitReady();
  }

  async waitReady(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      'JetStream cluster ready',
      async () => {
        for (const n of this.nodes) {
          if (n.process && (n.process.exitCode !== null || n.process.signalCode !== null) && portTaken(n.logFile)) {
            throw new PortTaken(`NATS node ${n.name} could not bind port ${n.port} or ${n.clusterPort}`);
          }
        }
        const nc = await connect({ servers: this.urls, timeout: 1000, reconnect: false });
        try {
          await (await jetstreamManager(nc, { timeout: 2000 })).getAccountInfo();
          return true;
        } finally {
          await nc.close();
        }
      },
      timeoutMs,
      250,
    );
  }

  /** Sends `signal` to one node; for SIGKILL/SIGTERM waits until it has exited. */
  async signalNode(name: string, signal: NodeJS.Signals): Promise<void> {
    const node = this.node(name);
    const child = node.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGCONT');
      child.kill(signal);
      await Promise.race([exited, idle(15_000)]);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      this.run.forgetPid(child.pid!);
      node.process = undefined;
    } else {
      child.kill(signal);
    }
  }

  killNode(name: string): Promise<void> {
    return this.signalNode(name, 'SIGKILL');
  }

  stopNode(name: string): Promise<void> {
    return this.signalNode(name, 'SIGTERM');
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.stopNode(n.name)));
  }

  async signalAll(signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
    for (const n of this.nodes) await this.signalNode(n.name, signal);
  }

  /** A client connected to every node (reconnects forever). */
  async client(): Promise<NatsConnection> {
    return connect({ servers: this.urls, maxReconnectAttempts: -1, reconnectTimeWait: 250, timeout: 5000, name: 'chaos-suite' });
  }

  /**
   * Creates the service's stream at 3 replicas before the service starts (the service creates it
   * only when missing, at 1 replica): subjects `<prefix>.>`, duplicate window 2 min, file storage,
   * limits retention, as in src/events/transport/stream.ts.
   */
  async createStream(name: string, prefix: string, replicas = this.nodes.length): Promise<void> {
    const nc = await this.client();
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({
        name,
        subjects: [`${prefix}.>`],
        duplicate_window: nanos(STREAM_DUPLICATE_WINDOW_MS),
        num_replicas: replicas,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
      });
      say(this.run.scenario, `stream ${name} (${prefix}.>) created with ${replicas} replicas`);
    } finally {
      await nc.close();
    }
  }

  /** The node leading a stream, as the cluster reports it. */
  async streamLeader(jsm: JetStreamManager, stream: string): Promise<string | undefined> {
    return (await jsm.streams.info(stream)).cluster?.leader;
  }
}
