#!/usr/bin/env node
// The fake account / organization service of the benchmark, as a process of its own (so it never
// waits behind the load generator's CPU): every user exists and is active, every organization
// exists with everyone a member. Prints `listening <port>` once it accepts connections.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const path = (req.url ?? '').split('?')[0];
  let body;
  let m;
  if (path === '/health') body = { status: 'healthy' };
  else if ((m = path.match(/^\/api\/v1\/accounts\/profile\/([^/]+)$/))) {
    const userId = decodeURIComponent(m[1]);
    body = { user_id: userId, email: `${userId}@bench.local`, name: userId, is_active: true };
  } else if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)\/members$/))) {
    body = { members: [], total: 0, limit: 100, offset: 0 };
  } else if ((m = path.match(/^\/api\/v1\/organizations\/([^/]+)$/))) {
    body = { organization_id: decodeURIComponent(m[1]), name: 'Bench org', status: 'active' };
  }
  const payload = JSON.stringify(body ?? { detail: 'not found' });
  res.writeHead(body ? 200 : 404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
