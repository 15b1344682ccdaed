// What the service and the reference need around them: the reference's dependencies, scratch
// PostgreSQL databases (dropped at the end) and a fake account / organization service.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { log, onCleanup } from './harness.mjs';

function run(command, args, options) {
  const result = spawnSync(command, args, { stdio: 'inherit', timeout: 5 * 60_000, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})`);
}

// ---------------------------------------------------------------- reference server dependencies

/** The reference's folder with node_modules: itself, or a cached copy in the temp dir (../shared is read-only). */
export function referenceWithDependencies(dir) {
  if (!existsSync(join(dir, 'server.js'))) throw new Error(`no bench reference at ${dir} (set BENCH_REFERENCE_DIR)`);
  if (existsSync(join(dir, 'node_modules', 'fastify')) && existsSync(join(dir, 'node_modules', 'pg'))) return dir;
  const lock = readFileSync(join(dir, 'package-lock.json'));
  const hash = createHash('sha256')
    .update(lock)
    .update(readFileSync(join(dir, 'server.js')))
    .digest('hex')
    .slice(0, 12);
  const cached = join(tmpdir(), `product-bench-reference-${hash}`);
  if (existsSync(join(cached, 'node_modules', 'fastify'))) {
    log(`reference dependencies: reusing ${cached}`);
    return cached;
  }
  log(`reference dependencies: npm ci into a copy at ${cached} (${dir} is read-only)`);
  const staging = mkdtempSync(join(tmpdir(), 'product-bench-reference-staging-'));
  try {
    cpSync(dir, staging, { recursive: true, filter: (src) => !src.includes('node_modules') });
    run('npm', ['ci', '--no-audit', '--no-fund', '--omit=dev'], { cwd: staging });
    rmSync(cached, { recursive: true, force: true });
    renameSync(staging, cached);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  return cached;
}

// ---------------------------------------------------------------- scratch databases

async function withClient(url, fn) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates `<prefix>_<runId>` and registers its DROP (WITH FORCE: a service that did not stop in time
 * cannot keep it). Returns its URL and a small pool for the benchmark's own counting queries.
 */
export async function createDatabase(adminUrl, prefix, runId) {
  const name = `${prefix}_${runId}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  // diagnosis: BENCH_DB_SETTINGS="log_min_duration_statement=5,auto_explain.log_min_duration=5" (name=value, comma-separated)
  for (const setting of (process.env.BENCH_DB_SETTINGS ?? '').split(',').filter(Boolean)) {
    const [key, value] = setting.split('=').map((x) => x.trim());
    if (!/^[a-z_.]+$/.test(key)) throw new Error(`BENCH_DB_SETTINGS: bad setting name ${key}`);
    await withClient(adminUrl, (c) => c.query(`ALTER DATABASE ${name} SET ${key} = '${value.replaceAll("'", "''")}'`));
  }
  onCleanup(() => withClient(adminUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined); // an idle client cut by DROP ... WITH (FORCE)
  onCleanup(() => pool.end());
  return {
    name,
    url: url.toString(),
    /** first column of the first row, as a number (counts) */
    count: async (text, params) => Number(Object.values((await pool.query(text, params)).rows[0] ?? {})[0] ?? 0),
    query: (text, params) => pool.query(text, params),
  };
}

export const postgresVersion = (adminUrl) =>
  withClient(adminUrl, async (c) => (await c.query('SHOW server_version')).rows[0].server_version);

// ---------------------------------------------------------------- fake account / organization service

/**
 * The fake account / organization service (bench/fake-platform.mjs) in a process of its own, so its
 * answers never wait behind the load generator in this process. Resolves to its base URL.
 */
export async function startFakePlatform() {
  const child = spawn(process.execPath, [join(dirname(fileURLToPath(import.meta.url)), '..', 'fake-platform.mjs')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  onCleanup(
    () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  );
  const port = await new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = out.match(/listening (\d+)/);
      if (m) resolvePort(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`fake platform exited (${code})`)));
  });
  return `http://127.0.0.1:${port}`;
}
