#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries exist, so the test fixture can start its own throwaway server.
# Idempotent and quiet: installs the Debian `postgresql` package only when no initdb can be found.
set -euo pipefail

have_initdb() {
    command -v initdb >/dev/null 2>&1 && return 0
    compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

if [ -n "${STORYWATCH_TEST_PG_URL:-}" ] || have_initdb; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "pg-setup: no initdb found and not root; install postgresql or set STORYWATCH_TEST_PG_URL" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -q && apt-get install -y -q --no-install-recommends postgresql; } >"$log" 2>&1; then
    echo "pg-setup: installing postgresql failed:" >&2
    tail -n 40 "$log" >&2
    rm -f "$log"
    exit 1
fi
rm -f "$log"

if ! have_initdb; then
    echo "pg-setup: postgresql installed but no initdb found under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
