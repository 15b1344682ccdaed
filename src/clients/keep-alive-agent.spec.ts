import { jest } from '@jest/globals';
import { Agent as HttpAgent, createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import { keepAliveOncePerSocket } from './downstream.client.js';

/** One GET through the agent: whether it reused a pooled socket. */
function call(port: number, agent: HttpAgent): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.reusedSocket));
    });
    req.on('error', reject);
  });
}

describe('keepAliveOncePerSocket', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  afterEach(() => jest.restoreAllMocks());

  /** Five sequential calls on one pooled socket; how often TCP keepalive was set on the client side. */
  async function fiveCalls(agent: HttpAgent): Promise<{ reused: boolean[]; keepAliveCalls: number }> {
    const setKeepAlive = jest.spyOn(Socket.prototype, 'setKeepAlive');
    const reused: boolean[] = [];
    for (let i = 0; i < 5; i++) reused.push(await call(port, agent));
    agent.destroy();
    return { reused, keepAliveCalls: setKeepAlive.mock.calls.filter(([enable]) => enable === true).length };
  }

  it("Node's agent re-arms keepalive each time the socket returns to the pool", async () => {
    const { reused, keepAliveCalls } = await fiveCalls(new HttpAgent({ keepAlive: true, maxSockets: 1 }));
    expect(reused).toEqual([false, true, true, true, true]);
    expect(keepAliveCalls).toBe(5);
  });

  it('arms it once per socket and still pools the socket for the next call', async () => {
    const options = { keepAlive: true, maxSockets: 1 };
    const { reused, keepAliveCalls } = await fiveCalls(keepAliveOncePerSocket(new HttpAgent(options), options));
    expect(reused).toEqual([false, true, true, true, true]);
    expect(keepAliveCalls).toBe(1);
  });

  it("restores the agent's idle timeout on a socket a call had given another", async () => {
    const options = { keepAlive: true, maxSockets: 1, timeout: 5000 };
    const agent = keepAliveOncePerSocket(new HttpAgent(options), options);
    await call(port, agent);
    const [socket] = Object.values(agent.freeSockets).flat();
    socket!.setTimeout(123);
    agent.keepSocketAlive(socket!);
    expect(socket!.timeout).toBe(5000);
    agent.destroy();
  });
});
