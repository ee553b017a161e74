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

need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)
have_postgres || need+=(postgresql)
have_chromium || need+=(chromium chromium-driver)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${need[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if command -v apt-get >/dev/null 2>&1; then
  $SUDO apt-get update -qq >/dev/null 2>&1 || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || true
fi

missing=()
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
have_postgres || missing+=(postgresql)
have_chromium || missing+=(chromium chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: could not install: ${missing[*]}" >&2
  if [ "${CI:-}" = "true" ]; then exit 1; fi
  echo "install-deps: tests that need them will fail" >&2
fi
exit 0
