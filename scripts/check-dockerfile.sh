#!/usr/bin/env bash
# Replays the Dockerfile without a Docker engine: each stage's commands run in a scratch directory that holds
# exactly what that stage COPYs (honouring .dockerignore for the build context), then the runtime directory is
# started with the image's CMD and probed like the HEALTHCHECK (/readyz) and a browser (/console/).
# Takes minutes (three `npm ci` runs, better-sqlite3 may compile): not part of CI. Usage:
#   bash scripts/check-dockerfile.sh [SCRATCH_DIR]      (default: a new directory under /tmp, removed at the end)
# The host's node stands in for node:20-bookworm-slim, the host's toolchain for the apt-get line. Run as root,
# the server runs as `nobody` with the application files owned by root, as the image's USER node does.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
scratch="${1:-$(mktemp -d /tmp/esimhub-dockercheck-XXXXXX)}"
keep="${1:+yes}"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  [ -z "$keep" ] && rm -rf "$scratch"
  return 0
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }

# The commands below must be the Dockerfile's own: stop if one of them was edited there and not here.
for cmd in \
  'npm ci --ignore-scripts --no-audit --no-fund' \
  'npm run build:console' \
  'test -f console/dist/index.html' \
  'npm ci --omit=dev --ignore-scripts --no-audit --no-fund' \
  'npm rebuild better-sqlite3' \
  'test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node' \
  'COPY --from=deps /app/node_modules ./node_modules' \
  'COPY --from=build /app/console/dist ./console/dist' \
  'CMD ["node", "bin/esimhub.js", "serve"]'; do
  grep -qF -- "$cmd" "$repo/Dockerfile" || { echo "Dockerfile no longer contains: $cmd (update this script)"; exit 1; }
done

# The build context: the repository minus .dockerignore's entries (the ones this Dockerfile's COPYs can meet).
context="$scratch/context"
step "build context -> $context"
mkdir -p "$context"
(cd "$repo" && tar --exclude=.git --exclude=.ci --exclude=node_modules --exclude=./data --exclude=./test --exclude=./test-output \
  --exclude=./bench --exclude=./docs --exclude='*.log' --exclude=./console/dist --exclude=./sdk/package.json --exclude=./sdk/tsconfig.json \
  -cf - package.json package-lock.json scripts console sdk bin src) | tar -xf - -C "$context"

step "stage build: npm ci (dev dependencies, no scripts), then the console"
build="$scratch/build/app"
mkdir -p "$build"
cp "$context/package.json" "$context/package-lock.json" "$build/"
(cd "$build" && npm ci --ignore-scripts --no-audit --no-fund)
cp -r "$context/scripts" "$build/scripts"
cp -r "$context/console" "$build/console"
mkdir -p "$build/sdk" && cp -r "$context/sdk/src" "$build/sdk/src"
(cd "$build" && npm run build:console && test -f console/dist/index.html)

step "stage deps: production dependencies, better-sqlite3's binding"
deps="$scratch/deps/app"
mkdir -p "$deps"
cp "$context/package.json" "$context/package-lock.json" "$deps/"
(cd "$deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm rebuild better-sqlite3 \
  && test -f node_modules/better-sqlite3/build/Release/better_sqlite3.node)
if [ -d "$deps/node_modules/vite" ] || [ -d "$deps/node_modules/vitest" ]; then echo "dev dependencies leaked into the deps stage"; exit 1; fi

step "stage runtime"
app="$scratch/runtime/app"
data="$scratch/runtime/data"
mkdir -p "$app" "$data"
cp -r "$deps/node_modules" "$app/node_modules"
mkdir -p "$app/console" && cp -r "$build/console/dist" "$app/console/dist"
cp "$context/package.json" "$context/package-lock.json" "$app/"
cp -r "$context/bin" "$app/bin"
cp -r "$context/src" "$app/src"
du -sh "$app" | sed 's/^/runtime size: /'

run_as=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chown -R root:root "$app" && chmod -R go-w "$app"
  chmod 755 "$scratch" "$scratch/runtime"
  chown nobody "$data"
  run_as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
fi
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
step "CMD node bin/esimhub.js serve (port $port${run_as:+, as nobody})"
(cd "$app" && env -i PATH="$PATH" HOME="$data" NODE_ENV=production DATA_DIR="$data" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn \
  "${run_as[@]}" node bin/esimhub.js serve >"$scratch/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server exited:"; cat "$scratch/server.log"; exit 1; }
  sleep 0.5
done
echo "GET /readyz:"
curl -fsS "http://127.0.0.1:$port/readyz"; echo
echo "GET /console/:"
page="$(curl -fsS "http://127.0.0.1:$port/console/")"
echo "$page" | grep -o '<script[^>]*src="[^"]*"' | head -n1
asset="$(echo "$page" | grep -o 'src="/console/assets/[^"]*"' | head -n1 | sed 's/^src="//; s/"$//')"
[ -n "$asset" ] || { echo "/console/ is not the built app:"; echo "$page" | head -n5; exit 1; }
echo "GET $asset: $(curl -fsS -o /dev/null -w '%{http_code} %{size_download} bytes' "http://127.0.0.1:$port$asset")"
echo "HEALTHCHECK: $(cd "$app" && PORT="$port" node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && echo healthy)"
echo
echo "Dockerfile check passed."
