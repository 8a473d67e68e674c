#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's PostgreSQL server (tests/collect/pgserver.py
# starts a throwaway cluster from its binaries). Idempotent: installs only what is missing.
set -euo pipefail

have_postgres() {
    local d
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

if bindir=$(have_postgres); then
    echo "install-test-deps: PostgreSQL server binaries present in $bindir; nothing to install"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "install-test-deps: PostgreSQL server binaries missing and not root (no passwordless sudo):" >&2
    echo "install-test-deps: run 'apt-get install postgresql' as root" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: PostgreSQL server binaries missing and no apt-get; install PostgreSQL's server" >&2
    exit 1
fi

echo "install-test-deps: apt-get update -qq"
"${as_root[@]}" apt-get update -qq
echo "install-test-deps: apt-get install -y -qq postgresql"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql

if bindir=$(have_postgres); then
    echo "install-test-deps: PostgreSQL server binaries installed in $bindir"
else
    echo "install-test-deps: postgresql installed but no initdb/pg_ctl under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
