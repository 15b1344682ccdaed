import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import pg from 'pg';
import type { AppConfig } from '../config/app-config.js';
import { UnitOfWork } from './unit-of-work.js';
import { managerOf, type Tx } from './transaction.js';

/** Called with the notification's payload; without one after each (re)connection (catch up on what was missed). */
type Handler = (payload?: string) => void;

/** Between the sender's instance id and the data of a NOTIFY payload (a control character: never in an identifier). */
const DATA_SEPARATOR = '\u001e';

/**
 * PostgreSQL LISTEN/NOTIFY between replicas, on one dedicated connection that reconnects on its
 * own. Notifications carry this process's instance id, so a process never hears itself. On
 * embedded PGlite (one process) nothing is listened to and `notify` does nothing: in-process
 * signals do that job there.
 */
@Injectable()
export class PgNotifications implements OnApplicationShutdown {
  private readonly logger = new Logger('PgNotifications');
  private readonly url: string | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly instanceId = randomUUID();
  private client?: pg.Client;
  /** the LISTENs sent on the connection, one after the other (a pg client runs one query at a time) */
  private listening: Promise<unknown> = Promise.resolve();
  private connecting?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly uow: UnitOfWork,
    config: ConfigService<AppConfig, true>,
  ) {
    this.url = config.get('database', { infer: true }).url;
  }

  get available(): boolean {
    return this.url !== undefined;
  }

  /**
   * Calls `handler` on every NOTIFY on `channel` from another process, and once more after each
   * (re)connection (what was sent while not listening is not replayed: the handler should catch up).
   */
  listen(channel: string, handler: Handler): void {
    if (!this.available || this.closed) return;
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
    const client = this.client;
    if (client) this.listening = this.listening.then(() => client.query(`LISTEN ${pg.escapeIdentifier(channel)}`)).catch(() => undefined);
    else this.connecting ??= this.connect();
  }

  /**
   * A NOTIFY inside `tx`: delivered when it commits, never when it rolls back. For rare writes only
   * (PostgreSQL serialises the commits of notifying transactions), such as catalog changes.
   */
  async notifyInTransaction(tx: Tx, channel: string): Promise<void> {
    if (!this.available) return;
    await managerOf(tx).query('SELECT pg_notify($1, $2)', [channel, this.instanceId]);
  }

  /**
   * One NOTIFY outside any business transaction; `data` (at most ~7,900 bytes) reaches the other
   * processes' handlers. Failure only delays the listeners to their poll or safety net.
   */
  async notify(channel: string, data?: string): Promise<void> {
    if (!this.available) return;
    const payload = data === undefined ? this.instanceId : `${this.instanceId}${DATA_SEPARATOR}${data}`;
    try {
      await this.uow.read((tx) => managerOf(tx).query('SELECT pg_notify($1, $2)', [channel, payload]));
    } catch (err) {
      this.logger.warn({ channel, err: err instanceof Error ? err.message : String(err) }, 'NOTIFY failed; listeners will poll');
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'product-service-listener' });
    const reconnect = () => {
      if (this.client === client) this.client = undefined;
      client.removeAllListeners();
      void client.end().catch(() => undefined);
      this.connecting = undefined;
      if (!this.closed) {
        this.retry = setTimeout(() => {
          this.connecting ??= this.connect();
        }, 2000).unref();
      }
    };
    try {
      client.on('error', (err) => {
        this.logger.warn({ err: err.message }, 'LISTEN connection lost; reconnecting');
        reconnect();
      });
      client.on('notification', (n) => {
        const payload = n.payload ?? '';
        if (payload === this.instanceId || payload.startsWith(`${this.instanceId}${DATA_SEPARATOR}`)) return; // our own
        const cut = payload.indexOf(DATA_SEPARATOR);
        for (const handler of this.handlers.get(n.channel) ?? []) handler(cut >= 0 ? payload.slice(cut + 1) : payload);
      });
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (this.closed) {
        await client.end();
        return;
      }
      this.client = client;
      this.connecting = undefined;
      for (const set of this.handlers.values()) for (const handler of set) handler(); // catch up
    } catch (err) {
      this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'LISTEN failed; polling meanwhile');
      reconnect();
    }
  }
}
