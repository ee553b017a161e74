#!/usr/bin/env bash
# Installs the external programs the tests use (real components, not mocks).
# Under CI=true a dependency that cannot be installed fails the run; it is never skipped.
set -uo pipefail

# PostgreSQL server binaries for the postgres connector's tests
# (connectors/postgres/internal/pgtest runs initdb and postgres from them).
have_postgres() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; }

# Headless Chromium and its driver for the web console's browser tests
# (platform/console_test.go).
have_chromium() { command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; }

# kafkajs (npm) under node, a third real client for cmd/tributary's
# TestKafkajsRoundTrip, kept outside the repository in the user's cache.
KAFKAJS_VERSION=2.2.4
npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/tributary/npm"
have_kafkajs() { grep -qs "\"version\": \"$KAFKAJS_VERSION\"" "$npm_dir/node_modules/kafkajs/package.json"; }

need=()
command -v curl >/dev/null 2>&1 || need+=(curl) # README's first five minutes use it (TestMakeRun)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
have_postgres || need+=(postgresql)
have_chromium || need+=(chromium chromium-driver)

if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null 2>&1 || true
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || true
  fi
fi
if ! have_kafkajs && command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing kafkajs@$KAFKAJS_VERSION in $npm_dir"
  mkdir -p "$npm_dir"
  npm install --silent --no-audit --no-fund --prefix "$npm_dir" "kafkajs@$KAFKAJS_VERSION" >/dev/null 2>&1 || true
fi

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
have_kafkajs || missing+=(kafkajs)
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: could not install: ${missing[*]}" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "install-deps: tests that need them will fail" >&2
fi
exit 0
