import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { asPostgres, exec, freePorts, isAlive, isRoot, pidsMatching, sleep, userIds, waitFor } from './proc.js';
import { say, type ChaosRun } from './run.js';

const BIN = process.env.CHAOS_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL cluster of the run's own: initdb in a temporary directory owned by `postgres`, on a
 * free loopback port, with a unique `cluster_name` (every process of the cluster carries it in its
 * title, which is how a killed postmaster's orphans are found). Faults: fast shutdown, kill -9 of
 * the postmaster; restart.
 */
export class PgCluster {
  readonly clusterName: string;
  readonly dataDir: string;
  private readonly logFile: string;

  private constructor(
    private readonly run: ChaosRun,
    /** chosen again by `create` when something takes it before the first start */
    public port: number,
    private readonly dir: string,
  ) {
    this.clusterName = `chaos_${run.id}`;
    this.dataDir = join(dir, 'data');
    this.logFile = join(run.logDir, 'postgres.log');
  }

  static async create(run: ChaosRun, options: { fsync: boolean }): Promise<PgCluster> {
    const dir = mkdtempSync(join(tmpdir(), `chaos-pg-${run.id}-`));
    run.trackDir(dir);
    const [port] = await freePorts(1);
    const cluster = new PgCluster(run, port, dir);
    writeFileSync(cluster.logFile, '');
    if (isRoot()) {
      // the cluster runs as postgres: its directory and its log file (in the run's log directory) are postgres's
      const { uid, gid } = userIds('postgres');
      chownSync(dir, uid, gid);
      chownSync(cluster.logFile, uid, gid);
    }
    run.trackPostgres({ dataDir: cluster.dataDir, clusterName: cluster.clusterName, pgCtl: `${BIN}/pg_ctl`, asPostgres: isRoot() });
    run.defer('postgres', () => cluster.destroy());
    const init = await exec(
      ...asPostgres(`${BIN}/initdb`, ['-D', cluster.dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']),
    );
    if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);
    appendFileSync(
      join(cluster.dataDir, 'postgresql.conf'),
      [
        '',
        '# chaos suite',
        `port = ${port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir}'`,
        `cluster_name = '${cluster.clusterName}'`,
        `max_connections = 200`,
        `fsync = ${options.fsync ? 'on' : 'off'}`,
        `log_min_messages = warning`,
        `log_min_error_statement = panic`,
        '',
      ].join('\n'),
    );
    // The port was free when chosen, but anything may bind it before the postmaster does (another
    // process's listen(0), an outgoing connection's ephemeral port): then choose again.
    for (let attempt = 1; ; attempt++) {
      try {
        await cluster.start();
        return cluster;
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
        const [next] = await freePorts(1);
        say('postgres', `port ${cluster.port} was taken before the postmaster bound it; trying ${next}`);
        const conf = join(cluster.dataDir, 'postgresql.conf');
        writeFileSync(conf, readFileSync(conf, 'utf8').replace(`\nport = ${cluster.port}\n`, `\nport = ${next}\n`));
        cluster.port = next;
      }
    }
  }

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const r = await exec(...asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60', 'start']), {
      timeoutMs: 90_000,
    });
    if (r.code !== 0) throw new Error(`pg_ctl start failed: ${r.stdout} ${r.stderr}\n${this.logTail()}`);
    await waitFor('PostgreSQL accepting connections', () => this.ping(), 30_000, 100);
  }

  /** `pg_ctl stop -m fast`: clients are disconnected, in-flight transactions roll back. */
  async stopFast(): Promise<void> {
    const r = await exec(...asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop']), {
      timeoutMs: 90_000,
    });
    if (r.code !== 0) throw new Error(`pg_ctl stop failed: ${r.stdout} ${r.stderr}`);
  }

  /** The postmaster's pid (first line of postmaster.pid). */
  postmasterPid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  }

  /** Every live process of this cluster (postmaster, backends, auxiliaries). */
  processes(): number[] {
    return [...new Set([...pidsMatching(`postgres: ${this.clusterName}:`), ...pidsMatching(`-D ${this.dataDir}`)])].filter(isAlive);
  }

  /**
   * kill -9 of the postmaster. Its children notice and exit by themselves; if some are still there
   * after 15 s they are killed too (a restart needs them gone) and the count is returned.
   */
  async killPostmaster(): Promise<{ pid: number; orphansKilled: number }> {
    const pid = this.postmasterPid();
    if (!pid || !isAlive(pid)) throw new Error('postmaster is not running');
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 15_000;
    while (this.processes().length > 0 && Date.now() < deadline) await sleep(100);
    const left = this.processes();
    for (const p of left) process.kill(p, 'SIGKILL');
    if (left.length > 0)
      say(this.run.scenario, `postgres: ${left.length} orphan(s) of the killed postmaster were still alive after 15 s; killed`);
    await waitFor('cluster processes gone', () => this.processes().length === 0, 10_000);
    return { pid, orphansKilled: left.length };
  }

  async ping(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async createDatabase(name: string): Promise<string> {
    const client = new pg.Client({ connectionString: this.url() });
    await client.connect();
    try {
      await client.query(`CREATE DATABASE ${name}`);
    } finally {
      await client.end();
    }
    return this.url(name);
  }

  logTail(lines = 20): string {
    try {
      return readFileSync(this.logFile, 'utf8').trim().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no postgres log)';
    }
  }

  private async destroy(): Promise<void> {
    if (this.postmasterPid() !== undefined && this.processes().length > 0) {
      await exec(...asPostgres(`${BIN}/pg_ctl`, ['-D', this.dataDir, '-m', 'immediate', '-w', '-t', '30', 'stop']), { timeoutMs: 40_000 });
    }
    for (const p of this.processes()) process.kill(p, 'SIGKILL');
    this.run.forgetPostgres(this.dataDir);
  }
}
