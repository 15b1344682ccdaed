// Bundles the compiled service (dist/src/main.js, from `tsc`) into one ES module, dist/bundle/service.mjs,
// with esbuild, and writes its launcher dist/bundle/main.mjs: what `npm start` and the image run. Why:
// the service imports ~2,800 modules (Nest, TypeORM, class-validator, rxjs...); resolving, reading and
// linking them took ~0.7 s of a 1.1-1.2 s start. One file starts in ~0.7 s. Nothing is compiled again:
// tsc has already emitted the decorators and their metadata, the bundle only concatenates.
//
// The launcher turns on Node's compile cache before it imports the bundle: V8's compiled code of the
// 9.2 MB module is kept on disk (NODE_COMPILE_CACHE, else <tmpdir>/node-compile-cache; one directory
// per Node version, V8 flags and user id) and read back by the next start instead of compiling
// again (~165 ms of a 1.4 s start on the 2-core machine). `node dist/bundle/main.mjs
// --compile-cache-only` fills the cache without starting anything (the image's build does, for its user).
//
//   node scripts/bundle.mjs            (part of `npm run build`)
//
// Left outside the bundle, loaded from node_modules at run time:
// - embedded PGlite (`@electric-sql/pglite`, `typeorm-pglite`): loaded only when DATABASE_URL is
//   unset, and its WebAssembly files sit beside its own modules;
// - every optional package a library asks for but this project does not install (Nest's other
//   transports and platforms, pg-native...): those imports stay as they are and fail at run time
//   exactly as they did unbundled (the libraries expect and handle that);
// - Node's built-ins.
// Run-time lookups of package files (the Swagger UI assets) go through `require`, created for the
// bundle's own location, so they find node_modules as before.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { asciiOnly } from './ascii-only.mjs';
import { dropInferredNameCalls } from './inferred-names.mjs';
import { lazyDateTimeFormatters } from './lazy-intl.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const requireFromRoot = createRequire(join(ROOT, 'package.json'));
const ALWAYS_EXTERNAL = ['@electric-sql/pglite', 'typeorm-pglite'];

/** A package name from an import path (`@scope/name/sub` → `@scope/name`). */
const packageOf = (path) => (path.startsWith('@') ? path.split('/').slice(0, 2).join('/') : path.split('/')[0]);

function installed(name) {
  for (const probe of [`${name}/package.json`, name]) {
    try {
      requireFromRoot.resolve(probe);
      return true;
    } catch {
      // not resolvable this way
    }
  }
  return false;
}

const notInstalled = new Set();
const optionalPackages = {
  name: 'optional-packages',
  setup(bundle) {
    bundle.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:')) return { external: true };
      const name = packageOf(args.path);
      if (ALWAYS_EXTERNAL.includes(name)) return { path: args.path, external: true };
      if (installed(name)) return undefined;
      notInstalled.add(name);
      return { path: args.path, external: true };
    });
  },
};

// @nestjs/typeorm reads two classes TypeORM 1.0 removed (`Connection`, `AbstractRepository`) through a
// `require('typeorm')` made by `createRequire`, which no bundler can follow: the bundle loaded a second
// TypeORM from node_modules at start-up (~600 files: ~170 ms of a 1.4 s start, and its code and
// metadata in the heap twice), and those two classes were the second copy's. The plugin turns that
// require into an import of the bundled TypeORM (same exports, undefined when absent), and fails
// the build if the file no longer has the shape it rewrites.
const TYPEORM_COMPAT = /[\\/]@nestjs[\\/]typeorm[\\/]dist[\\/]common[\\/]typeorm-compat\.js$/;
const typeormCompat = {
  name: 'typeorm-compat',
  setup(bundle) {
    bundle.onLoad({ filter: TYPEORM_COMPAT }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const header = "import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\n";
      const call = "require('typeorm')";
      if (!source.startsWith(header) || source.split(call).length !== 2) {
        throw new Error(`${args.path} changed: review the typeorm-compat plugin of scripts/bundle.mjs`);
      }
      const contents = `import * as bundledTypeorm from 'typeorm';\n${source.slice(header.length).replace(call, 'bundledTypeorm')}`;
      return { contents, loader: 'js' };
    });
  },
};

// Code the service can never run, left out of the bundle (whose source is read, hashed and compiled
// at every start, and kept in the heap for the process's life): TypeORM's drivers for the databases
// other than PostgreSQL (its DriverFactory imports all seventeen, and with them their query runners:
// ~1.1 MB), and libphonenumber-js with its metadata (~0.5 MB), which class-validator imports for the
// @IsPhoneNumber decorator this service does not use. 10.7 -> 9.2 MB: ~20 ms less to start, ~4.5 MiB
// less resident at idle. Each is replaced by a module exporting what its importer reads (a driver
// class, libphonenumber-js's parsePhoneNumber) that throws, naming this plugin, if it is ever
// called, so a future use fails loudly at once. The build fails if a driver's file no longer has
// the shape replaced.
const UNUSED_TYPEORM_DRIVERS =
  /[\\/]typeorm[\\/]driver[\\/](aurora-mysql|aurora-postgres|better-sqlite3|capacitor|cockroachdb|cordova|expo|mongodb|mysql|nativescript|oracle|react-native|sap|spanner|sqljs|sqlserver)[\\/](\w+Driver)\.js$/;
const LIBPHONENUMBER = /[\\/]node_modules[\\/]libphonenumber-js[\\/]max[\\/]index\.cjs$/;
const notBundled = (what) =>
  `function notBundled() { throw new Error(${JSON.stringify(`${what} is not in this build (scripts/bundle.mjs, unused-code plugin)`)}); }`;
const unusedCode = {
  name: 'unused-code',
  setup(bundle) {
    bundle.onLoad({ filter: UNUSED_TYPEORM_DRIVERS }, (args) => {
      const [, database, driverClass] = args.path.match(UNUSED_TYPEORM_DRIVERS);
      if (!readFileSync(args.path, 'utf8').includes(`exports.${driverClass} = ${driverClass};`)) {
        throw new Error(`${args.path} changed: review the unused-code plugin of scripts/bundle.mjs`);
      }
      const contents = `${notBundled(`TypeORM's ${database} driver`)}\nexports.${driverClass} = class ${driverClass} { constructor() { notBundled(); } };\n`;
      return { contents, loader: 'js' };
    });
    bundle.onLoad({ filter: LIBPHONENUMBER }, () => {
      // class-validator's IsPhoneNumber reads parsePhoneNumber from it when a value is validated
      const contents = `${notBundled('libphonenumber-js')}\nexports.parsePhoneNumber = notBundled;\nexports.default = notBundled;\n`;
      return { contents, loader: 'js' };
    });
  },
};

// Nest's loggers build their Intl.DateTimeFormat on first use instead of at load: see scripts/lazy-intl.mjs.
const NEST_LOGGERS = /[\\/]@nestjs[\\/]common[\\/]services[\\/](logger|console-logger)\.service\.js$/;
const lazyIntl = {
  name: 'lazy-intl',
  setup(bundle) {
    bundle.onLoad({ filter: NEST_LOGGERS }, (args) => {
      try {
        return { contents: lazyDateTimeFormatters(readFileSync(args.path, 'utf8')), loader: 'js' };
      } catch (err) {
        throw new Error(`${args.path} changed (${err.message}): review scripts/lazy-intl.mjs`);
      }
    });
  },
};

const OUTFILE = join(ROOT, 'dist/bundle/service.mjs');
const LAUNCHER = join(ROOT, 'dist/bundle/main.mjs');
const LAUNCHER_SOURCE = `// What \`npm start\` and the image run (written by scripts/bundle.mjs): Node's compile cache on,
// then the service, bundled into ./service.mjs. NODE_DISABLE_COMPILE_CACHE=1 turns the cache off.
import nodeModule from 'node:module';

// an older Node would fail on the bundle's first Node 24 API with a SyntaxError; say what to do instead
if (Number(process.versions.node.split('.')[0]) < 24) {
  console.error(
    \`product-service needs Node 24 or later, this is \${process.version}: run it with npm start (npm ci installs Node 24 into node_modules/.bin, which npm's scripts run first), or source scripts/use-node-24.sh\`,
  );
  process.exit(1);
}
nodeModule.enableCompileCache();
await import('./service.mjs');
// the image's build step: the service saw the flag and started nothing; the cache is written at exit
if (process.argv.includes('--compile-cache-only')) process.exit(0);
`;
const started = performance.now();
rmSync(dirname(OUTFILE), { recursive: true, force: true });
await build({
  entryPoints: [join(ROOT, 'dist/src/main.js')],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  // class names stay as written: Nest's injection tokens, loggers and error names read them (the
  // calls this adds where the language names a function anyway are dropped below)
  keepNames: true,
  sourcemap: true,
  plugins: [optionalPackages, typeormCompat, unusedCode, lazyIntl],
  // the CommonJS packages inside an ES module bundle call `require` (built-ins, optional packages)
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  logLevel: 'warning',
});
// ASCII only: V8 keeps a module's source in the heap for its whole life, one byte a character when
// every character is Latin-1, two when any is not. esbuild leaves the non-ASCII characters of comments
// and regular expression literals (≥, —, validator's locale alphabets: 152 lines of 268,000), and
// they made the 10.7 MB source a 20.4 MB string. scripts/ascii-only.mjs escapes them.
// keepNames' `__name(fn, "name")` calls where the function has that name anyway are dropped (one
// Object.defineProperty each, on every request for the closures made per request): see
// scripts/inferred-names.mjs. Positions do not move, so the source map stays true.
const names = dropInferredNameCalls(readFileSync(OUTFILE, 'utf8'));
writeFileSync(OUTFILE, asciiOnly(names.code));
writeFileSync(LAUNCHER, LAUNCHER_SOURCE);
const droppedNames = names.dropped.ownName + names.dropped.contextName + names.dropped.declaration;
console.log(
  `dist/bundle/service.mjs and main.mjs in ${Math.round(performance.now() - started)} ms` +
    ` (${droppedNames} of esbuild's ${droppedNames + names.kept} __name calls dropped)` +
    (notInstalled.size > 0
      ? `; optional packages not installed, left to fail at run time as before: ${[...notInstalled].sort().join(', ')}`
      : ''),
);
