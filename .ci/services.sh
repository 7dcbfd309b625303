#!/usr/bin/env bash
# Throwaway PostgreSQL + Redis for tests and benchmarks.
#
#   .ci/services.sh start   # start both, write .ci/tmp/services.env
#   .ci/services.sh stop    # stop both, remove the temp dir (idempotent)
#
# PostgreSQL: fresh initdb cluster, 127.0.0.1 only, free port, trust auth on
# loopback, fsync ON (benchmarks measure durable commits), max_connections=200,
# database `consentry` owned by role `consentry`.
# Redis: 127.0.0.1 only, free port, no persistence, daemonized.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_ROOT="$ROOT/.ci/tmp"
DIR_FILE="$STATE_ROOT/services.dir"   # absolute path of the current temp dir
ENV_FILE="$STATE_ROOT/services.env"
WAIT_TIMEOUT="${CONSENTRY_SERVICES_TIMEOUT:-60}"   # seconds
CI_USER="consentry-ci"

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# --------------------------------------------------------------------------
# Binary discovery / installation
# --------------------------------------------------------------------------
PG_BIN=""        # directory holding initdb, pg_ctl, postgres
PSQL=""
PG_ISREADY=""
REDIS_SERVER=""
ESPEAK=""       # espeak-ng: the tests' synthesized speech (verification videos, voices)

find_pg_bin() {
    local i p c
    i="$(command -v initdb || true)"
    p="$(command -v pg_ctl || true)"
    c="$(command -v postgres || true)"
    if [[ -n "$i" && -n "$p" && -n "$c" ]]; then
        # Resolve symlinks (e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb)
        # so that all three come from the same installation.
        i="$(readlink -f "$i")"
        if [[ -x "$(dirname "$i")/pg_ctl" && -x "$(dirname "$i")/postgres" ]]; then
            PG_BIN="$(dirname "$i")"
            return 0
        fi
    fi
    local d
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
        PG_BIN="$d"
        return 0
    fi
    return 1
}

find_binaries() {
    PG_BIN=""
    find_pg_bin || true
    REDIS_SERVER="$(command -v redis-server || true)"
    if [[ -z "$REDIS_SERVER" && -x /usr/bin/redis-server ]]; then
        REDIS_SERVER=/usr/bin/redis-server
    fi
    ESPEAK="$(command -v espeak-ng || true)"
    PSQL=""
    PG_ISREADY=""
    if [[ -n "$PG_BIN" ]]; then
        if [[ -x "$PG_BIN/psql" ]]; then PSQL="$PG_BIN/psql"; else PSQL="$(command -v psql || true)"; fi
        if [[ -x "$PG_BIN/pg_isready" ]]; then PG_ISREADY="$PG_BIN/pg_isready"; else PG_ISREADY="$(command -v pg_isready || true)"; fi
    fi
}

as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -E "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

install_packages() {
    # $@: Debian packages to install
    command -v apt-get >/dev/null 2>&1 \
        || die "$* not found and apt-get is unavailable; install them manually"
    log "installing Debian packages: $* (apt-get) ..."
    export DEBIAN_FRONTEND=noninteractive
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >&2
}

ensure_binaries() {
    find_binaries
    local packages=()
    [[ -z "$PG_BIN" || -z "$PSQL" ]] && packages+=(postgresql)
    [[ -z "$REDIS_SERVER" ]] && packages+=(redis-server)
    # The review console's browser tests drive Debian's chromium through its WebDriver.
    command -v chromium >/dev/null 2>&1 || packages+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || packages+=(chromium-driver)
    [[ -z "$ESPEAK" ]] && packages+=(espeak-ng)
    if ((${#packages[@]})); then
        log "not found: ${packages[*]}"
        install_packages "${packages[@]}"
        find_binaries
    fi
    [[ -n "$PG_BIN" ]] || die "initdb/pg_ctl/postgres not found (PATH or /usr/lib/postgresql/*/bin)"
    [[ -n "$PSQL" ]] || die "psql not found"
    [[ -n "$REDIS_SERVER" ]] || die "redis-server not found"
    [[ -n "$ESPEAK" ]] || die "espeak-ng not found"
}

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
RUN_AS=""   # unprivileged user for initdb/postgres when we are root

pick_run_user() {
    if [[ "$(id -u)" -ne 0 ]]; then
        RUN_AS=""
        return
    fi
    if id -u postgres >/dev/null 2>&1; then
        RUN_AS=postgres
    else
        if ! id -u "$CI_USER" >/dev/null 2>&1; then
            log "creating system user $CI_USER (initdb/postgres refuse to run as root)"
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$CI_USER"
        fi
        RUN_AS="$CI_USER"
    fi
}

# run_pg USER CMD...: run CMD as USER (or as ourselves when USER is empty)
run_pg() {
    local user="$1"; shift
    if [[ -z "$user" || "$user" == "$(id -un)" ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$user" -- "$@"
    else
        su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
    fi
}

port_in_use() {
    # true when something accepts connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port i
    for ((i = 0; i < 200; i++)); do
        # Below Linux's ephemeral range (32768-60999 by default): a port there can be a
        # client connection's own end, which no listener shows but a bind still refuses.
        port=$((20000 + RANDOM % 12000))
        [[ "$port" == "${1:-}" ]] && continue
        if ! port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "could not find a free TCP port"
}

redis_ping() {
    # true when Redis on 127.0.0.1:$1 answers PING with +PONG (pure bash, no redis-cli needed)
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
        printf 'PING\r\n' >&3
        reply=""
        IFS= read -r -t 2 reply <&3 || true
        [[ "$reply" == "+PONG"* ]]
    ) 2>/dev/null
}

pg_ready() {
    if [[ -n "$PG_ISREADY" ]]; then
        "$PG_ISREADY" -q -h 127.0.0.1 -p "$1" -d postgres -U postgres -t 2
    else
        port_in_use "$1"
    fi
}

# --------------------------------------------------------------------------
# stop
# --------------------------------------------------------------------------
pid_alive() {
    # true for a live process; a zombie (exited, not yet reaped by its parent) counts as gone
    [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state="$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)"
    [[ "$state" != Z ]]
}

wait_gone() {
    local pid="$1" i
    for ((i = 0; i < 100; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

stop_dir() {
    local work="$1"
    [[ -d "$work" ]] || return 0
    case "$work" in
        "$STATE_ROOT"/services.* | /tmp/consentry-ci.*) ;;
        *) log "refusing to touch unexpected temp dir '$work'"; return 0 ;;
    esac

    # PostgreSQL
    local pgdata="$work/pgdata"
    if [[ -f "$pgdata/postmaster.pid" ]]; then
        local owner pid pgctl
        owner="$(stat -c %U "$pgdata")"
        [[ "$owner" == "$(id -un)" ]] && owner=""
        pid="$(head -n 1 "$pgdata/postmaster.pid" 2>/dev/null || true)"
        pgctl=""
        if [[ -f "$work/pg_bin" ]]; then pgctl="$(cat "$work/pg_bin")/pg_ctl"; fi
        if [[ ! -x "$pgctl" ]]; then find_pg_bin && pgctl="$PG_BIN/pg_ctl" || pgctl=""; fi
        log "stopping PostgreSQL (pid ${pid:-?})"
        if [[ -n "$pgctl" ]]; then
            (cd "$work" && run_pg "$owner" "$pgctl" stop -D "$pgdata" -m fast -w -t 30 >/dev/null 2>&1) || true
        fi
        if pid_alive "$pid" && grep -q postgres "/proc/$pid/comm" 2>/dev/null; then
            kill -INT "$pid" 2>/dev/null || true
            wait_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
        fi
    fi

    # Redis
    if [[ -f "$work/redis.pid" ]]; then
        local rpid
        rpid="$(cat "$work/redis.pid" 2>/dev/null || true)"
        if pid_alive "$rpid" && grep -q redis "/proc/$rpid/comm" 2>/dev/null; then
            log "stopping Redis (pid $rpid)"
            kill -TERM "$rpid" 2>/dev/null || true
            wait_gone "$rpid" || kill -KILL "$rpid" 2>/dev/null || true
        fi
    fi

    rm -rf "$work"
}

cmd_stop() {
    local work
    if [[ -f "$DIR_FILE" ]]; then
        work="$(cat "$DIR_FILE")"
        [[ -n "$work" ]] && stop_dir "$work"
    fi
    # Leftovers of runs whose state file was lost.
    shopt -s nullglob
    for work in "$STATE_ROOT"/services.*/; do
        stop_dir "${work%/}"
    done
    shopt -u nullglob
    rm -f "$DIR_FILE" "$ENV_FILE"
}

# --------------------------------------------------------------------------
# start
# --------------------------------------------------------------------------
WORK=""

on_start_failure() {
    local rc=$?
    [[ $rc -eq 0 ]] && return
    if [[ -n "$WORK" && -d "$WORK" ]]; then
        local f
        for f in "$WORK/initdb.log" "$WORK/postgres.log" "$WORK/redis.log"; do
            # initdb's log only matters when initdb itself failed (no server log yet)
            [[ "$f" == */initdb.log && -s "$WORK/postgres.log" ]] && continue
            if [[ -s "$f" ]]; then
                printf '[services] ---- last lines of %s ----\n' "$(basename "$f")" >&2
                tail -n 20 "$f" >&2 || true
            fi
        done
    fi
    log "start failed (exit $rc); cleaning up"
    cmd_stop || true
    exit "$rc"
}

cmd_start() {
    # A previous run may have been killed without `stop`: clean it up first.
    cmd_stop

    ensure_binaries
    pick_run_user
    mkdir -p "$STATE_ROOT"

    WORK="$(mktemp -d "$STATE_ROOT/services.XXXXXX")"
    chmod 755 "$WORK"
    if [[ -n "$RUN_AS" ]] && ! run_pg "$RUN_AS" test -x "$WORK"; then
        # The repository is not traversable by the unprivileged user (e.g. under
        # /root): put the cluster under /tmp instead.
        rmdir "$WORK"
        WORK="$(mktemp -d /tmp/consentry-ci.XXXXXX)"
        chmod 755 "$WORK"
    fi
    echo "$WORK" >"$DIR_FILE"
    trap on_start_failure EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "$PG_BIN" >"$WORK/pg_bin"

    local pg_port redis_port pgdata="$WORK/pgdata"
    pg_port="$(free_port)"
    redis_port="$(free_port "$pg_port")"

    # ---- PostgreSQL ------------------------------------------------------
    log "PostgreSQL: $("$PG_BIN/postgres" --version) from $PG_BIN${RUN_AS:+ (as user $RUN_AS)}"
    mkdir -m 700 "$pgdata"
    if [[ -n "$RUN_AS" ]]; then
        chown "$RUN_AS" "$pgdata"
        touch "$WORK/initdb.log" "$WORK/postgres.log"
        chown "$RUN_AS" "$WORK/initdb.log" "$WORK/postgres.log"
    fi
    (cd "$WORK" && run_pg "$RUN_AS" "$PG_BIN/initdb" -D "$pgdata" -U postgres \
        --encoding=UTF8 --no-locale --auth-local=trust --auth-host=trust \
        >"$WORK/initdb.log" 2>&1) || die "initdb failed (see above)"

    cat >>"$pgdata/postgresql.conf" <<EOF

# ---- consentry throwaway test cluster ----
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = ''
max_connections = 200
fsync = on
synchronous_commit = on
EOF
    cat >"$pgdata/pg_hba.conf" <<EOF
# consentry throwaway test cluster: trust on loopback only
local   all   all                  trust
host    all   all   127.0.0.1/32   trust
EOF
    [[ -n "$RUN_AS" ]] && chown "$RUN_AS" "$pgdata/postgresql.conf" "$pgdata/pg_hba.conf"

    (cd "$WORK" && run_pg "$RUN_AS" "$PG_BIN/pg_ctl" start -D "$pgdata" -l "$WORK/postgres.log" \
        -w -t "$WAIT_TIMEOUT" >/dev/null) || die "PostgreSQL did not start (see postgres.log above)"

    # ---- Redis -----------------------------------------------------------
    log "Redis: $("$REDIS_SERVER" --version | awk '{print $3}') from $REDIS_SERVER"
    "$REDIS_SERVER" --bind 127.0.0.1 --port "$redis_port" \
        --save '' --appendonly no \
        --daemonize yes --pidfile "$WORK/redis.pid" \
        --logfile "$WORK/redis.log" --dir "$WORK" \
        || die "redis-server did not start (see redis.log above)"

    # ---- Wait for both ---------------------------------------------------
    local deadline=$((SECONDS + WAIT_TIMEOUT)) pg_ok="" redis_ok=""
    while [[ -z "$pg_ok" || -z "$redis_ok" ]]; do
        [[ -z "$pg_ok" ]] && pg_ready "$pg_port" && pg_ok=1
        [[ -z "$redis_ok" ]] && redis_ping "$redis_port" 2>/dev/null && redis_ok=1
        [[ -n "$pg_ok" && -n "$redis_ok" ]] && break
        if ((SECONDS >= deadline)); then
            die "timed out after ${WAIT_TIMEOUT}s waiting for:$([[ -z "$pg_ok" ]] && echo " PostgreSQL on 127.0.0.1:$pg_port")$([[ -z "$redis_ok" ]] && echo " Redis on 127.0.0.1:$redis_port")"
        fi
        sleep 0.2
    done

    # ---- Role and database ----------------------------------------------
    "$PSQL" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE consentry LOGIN CREATEDB" \
        -c "CREATE DATABASE consentry OWNER consentry" >/dev/null \
        || die "could not create role/database consentry"

    cat >"$ENV_FILE" <<EOF
export CONSENTRY_PG_DSN=postgresql://consentry@127.0.0.1:$pg_port/consentry
export CONSENTRY_REDIS_URL=redis://127.0.0.1:$redis_port/0
EOF
    trap - EXIT INT TERM
    log "PostgreSQL on 127.0.0.1:$pg_port, Redis on 127.0.0.1:$redis_port (temp dir $WORK)"
    log "environment written to ${ENV_FILE#"$ROOT"/}:"
    cat "$ENV_FILE"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop; log "stopped" ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
