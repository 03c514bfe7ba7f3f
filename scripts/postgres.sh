#!/usr/bin/env bash
# A private PostgreSQL cluster for Jobber's tests and CI: `scripts/postgres.sh` starts it (or reuses
# the running one) and prints its URL on stdout; `scripts/postgres.sh stop` stops it and removes it.
#
# Invariants: it listens on 127.0.0.1 only, its socket and data live under one directory in /tmp
# whose name starts with "jb" (JB_PG_DIR, default /tmp/jbpg), it is stopped through its own pid file
# (pg_ctl), never by process name. Everything but the URL goes to standard error.
set -euo pipefail

DIR=${JB_PG_DIR:-/tmp/jbpg}
PORT=${JB_PG_PORT:-54329}
DB=jobber
ROLE=jobber

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $DIR in
    /tmp/jb*) ;;
    *) die "JB_PG_DIR must be a directory under /tmp named jb* (got '$DIR')" ;;
esac
[[ $DIR =~ ^[A-Za-z0-9/_.-]+$ ]] || die "JB_PG_DIR may only hold letters, digits and / _ . - (got '$DIR')"
DATA=$DIR/data
SOCK=$DIR/sock

# Commands that touch the cluster run as its owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bindir() {
    local dir
    dir=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)
    [[ -n $dir && -x $dir/initdb ]] && printf '%s\n' "$dir"
}

ensure_installed() {
    if pg_bindir >/dev/null; then return; fi
    [[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed and we are not root: apt-get install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    log "installing postgresql with apt-get"
    if ! apt-get install -y -q postgresql >&2; then
        log "install failed; refreshing the package lists and trying again"
        apt-get update -q >&2
        apt-get install -y -q postgresql >&2
    fi
    pg_bindir >/dev/null || die "apt-get installed postgresql but no /usr/lib/postgresql/*/bin/initdb"
}

is_running() {
    [[ -f $DATA/postmaster.pid ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local port=$1
    for _ in $(seq 1 50); do
        if ! port_in_use "$port"; then printf '%s\n' "$port"; return; fi
        port=$((port + 1))
    done
    die "no free TCP port on 127.0.0.1 in $1..$((port - 1))"
}

init_cluster() {
    rm -rf "$DIR"
    mkdir -p "$DIR" "$SOCK"
    chmod 700 "$DIR"
    # A random password, kept beside the cluster so a second start prints the same URL.
    od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$DIR/password"
    chmod 600 "$DIR/password"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres:postgres "$DIR"; fi
    log "initdb in $DATA"
    as_owner "$BIN/initdb" -D "$DATA" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C.UTF-8 >&2
}

start() {
    ensure_installed
    BIN=$(pg_bindir)
    if is_running; then
        PORT=$(cat "$DIR/port")
        log "reusing the cluster running in $DIR on port $PORT"
    else
        [[ -f $DATA/PG_VERSION && -s $DIR/password ]] || init_cluster
        PORT=$(free_port "$PORT")
        printf '%s\n' "$PORT" >"$DIR/port"
        log "starting PostgreSQL on 127.0.0.1:$PORT"
        as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCK" start >&2 \
            || { tail -n 20 "$DIR/server.log" >&2 || true; die "pg_ctl start failed (log: $DIR/server.log)"; }
    fi
    local ready=0
    for _ in $(seq 1 60); do
        if as_owner "$BIN/pg_isready" -q -h "$SOCK" -p "$PORT"; then ready=1; break; fi
        sleep 0.5
    done
    [[ $ready -eq 1 ]] || die "PostgreSQL on port $PORT did not become ready (log: $DIR/server.log)"
    local password
    password=$(cat "$DIR/password")
    as_owner "$BIN/psql" -q -v ON_ERROR_STOP=1 -h "$SOCK" -p "$PORT" -U postgres -d postgres >&2 <<SQL
SELECT 'CREATE ROLE $ROLE LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$ROLE')
\gexec
ALTER ROLE $ROLE LOGIN PASSWORD '$password';
SELECT 'CREATE DATABASE $DB OWNER $ROLE' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$DB')
\gexec
SQL
    printf 'postgresql+psycopg://%s:%s@127.0.0.1:%s/%s\n' "$ROLE" "$password" "$PORT" "$DB"
}

stop() {
    if [[ -f $DATA/postmaster.pid ]]; then
        BIN=$(pg_bindir) || die "no PostgreSQL binaries to stop $DATA with"
        if is_running; then
            log "stopping the cluster in $DIR"
            as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
        fi
    fi
    rm -rf "$DIR"
}

case ${1:-start} in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 [start|stop]" ;;
esac
