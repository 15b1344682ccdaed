import type { Server } from 'node:http';
import { connect, createServer, type Server as NetServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { AppConfig } from '../../config/app-config.js';

/**
 * More listening sockets on the API's port, their connections handed to the API's HTTP server.
 *
 * Node accepts ONE connection per turn of the event loop on a listening socket (one `accept4` per
 * `epoll_pwait` under `strace`). Under load a turn takes tens of milliseconds, so when many
 * connections arrive together (a replica restarted under load, a load balancer reopening its pool)
 * they wait in the kernel's accept queue: in the chaos suite's service-kill scenario the restarted
 * replica's queue held ~850 connections draining at ~50 a second, and requests waited there past
 * their clients' 15 s timeout. With HTTP_ACCEPT_SOCKETS = n, the API's port has n listening
 * sockets (SO_REUSEPORT: the kernel spreads new connections over them) in this one process, so n
 * connections are accepted per turn. Each extra socket is a plain `net.Server` whose connections
 * go to the API server's `connection` handler, as its own socket's do (timeouts, keep-alive and
 * connection tracking included). They stop accepting when the API's own socket does.
 */
export class AcceptSockets {
  private readonly servers: NetServer[] = [];

  constructor(private readonly http: AppConfig['http']) {}

  /** `reusePort` for the API's own listen: every socket of a SO_REUSEPORT group must set it. */
  get listenOptions(): { reusePort?: boolean } {
    return this.http.acceptSockets > 1 ? { reusePort: true } : {};
  }

  install(fastify: FastifyInstance): void {
    // preClose: with the API server's own socket, before Fastify waits for the open connections to
    // end (an onClose hook would run after that wait, while these sockets still handed new
    // connections to a closing app). Not waiting for `close`'s callback: it fires when every
    // connection the socket accepted has ended, and those belong to the API server, which ends them.
    fastify.addHook('preClose', (done) => {
      for (const server of this.servers.splice(0)) server.close();
      done();
    });
  }

  /**
   * Refuses to start on a port another process listens on, as a listen without SO_REUSEPORT would
   * (EADDRINUSE): with it, the kernel lets every process of the same user join the port and spreads
   * connections over them, so a second instance started by mistake (or one still in its shutdown
   * grace) silently took a share of the traffic. A connection to the port that succeeds means a
   * listener; refused, reset or no answer within 250 ms means none. Port 0 (tests) needs no check.
   */
  async assertPortFree(port: number, host: string): Promise<void> {
    if (this.http.acceptSockets < 2 || port === 0) return;
    const target = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    const taken = await new Promise<boolean>((resolve) => {
      const socket = connect({ port, host: target });
      const done = (answer: boolean) => {
        socket.destroy();
        resolve(answer);
      };
      socket.setTimeout(250, () => done(false));
      socket.once('connect', () => done(true));
      socket.once('error', () => done(false));
    });
    if (taken) {
      throw Object.assign(new Error(`listen EADDRINUSE: address already in use ${host}:${port} (another process listens there)`), {
        code: 'EADDRINUSE',
      });
    }
  }

  /** Opens the extra sockets on the port `api` listens on (known only after it listens: tests use port 0). */
  async listen(api: Server, host: string): Promise<void> {
    const address = api.address();
    if (this.http.acceptSockets < 2 || typeof address !== 'object' || address === null) return;
    for (let i = 1; i < this.http.acceptSockets; i++) {
      // noDelay as node:http's own servers set it
      const server = createServer({ noDelay: true }, (socket) => api.emit('connection', socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: address.port, host, backlog: this.http.listenBacklog, reusePort: true }, () => {
          server.off('error', reject);
          // later errors (a failed accept) go where the API's own socket's go
          server.on('error', (err) => api.emit('error', err));
          resolve();
        });
      });
      this.servers.push(server);
    }
  }
}
