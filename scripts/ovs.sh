#!/usr/bin/env bash
# A private Open vSwitch (ovsdb-server + ovs-vswitchd, userspace datapath) for Jobber's tests:
# `scripts/ovs.sh` starts it (or reuses the running one) and prints `OVS_RUNDIR=…` on stdout;
# `scripts/ovs.sh stop` stops it and removes its folder. Point ovs-vsctl / ovs-ofctl at it with
# `env OVS_RUNDIR=… ovs-vsctl …`.
#
# Invariants: its database, sockets, pid files and logs live under one folder in /tmp whose name
# starts with "jb" (JB_OVS_DIR, default /tmp/jbovs); userspace TSO is on (TCP through the netdev
# datapath fails on bad checksums without it); it is stopped through its own pid files, never by
# process name. Everything but the OVS_RUNDIR line goes to standard error.
set -euo pipefail

DIR=${JB_OVS_DIR:-/tmp/jbovs}
log() { printf 'ovs.sh: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

case $DIR in
    /tmp/jb*) ;;
    *) die "JB_OVS_DIR must be a directory under /tmp named jb* (got '$DIR')" ;;
esac
[[ $DIR =~ ^[A-Za-z0-9/_.-]+$ ]] || die "JB_OVS_DIR may only hold letters, digits and / _ . - (got '$DIR')"
RUN=$DIR/run
export OVS_RUNDIR=$RUN OVS_LOGDIR=$DIR/log OVS_DBDIR=$DIR/db OVS_SYSCONFDIR=$DIR/etc
DB=unix:$RUN/db.sock

alive() { [[ -s $RUN/$1.pid ]] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }

ensure_installed() {
    if command -v ovs-vswitchd >/dev/null && command -v ovsdb-server >/dev/null; then return; fi
    [[ $(id -u) -eq 0 ]] || die "Open vSwitch is not installed and we are not root: apt-get install openvswitch-switch"
    log "installing openvswitch-switch with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q openvswitch-switch >&2 || { apt-get update -q >&2; apt-get install -y -q openvswitch-switch >&2; }
}

start() {
    ensure_installed
    if alive ovsdb-server && alive ovs-vswitchd; then
        log "reusing the Open vSwitch running in $DIR"
    else
        stop_daemons
        mkdir -p "$RUN" "$OVS_LOGDIR" "$OVS_DBDIR" "$OVS_SYSCONFDIR"
        chmod 700 "$DIR"
        [[ -f $OVS_DBDIR/conf.db ]] || ovsdb-tool create "$OVS_DBDIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
        ovsdb-server "$OVS_DBDIR/conf.db" --remote="punix:$RUN/db.sock" --pidfile="$RUN/ovsdb-server.pid" \
            --unixctl="$RUN/ovsdb-server.ctl" --log-file="$OVS_LOGDIR/ovsdb-server.log" --detach --no-chdir
        ovs-vsctl --db="$DB" --no-wait init
        ovs-vsctl --db="$DB" --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
        ovs-vswitchd "$DB" --pidfile="$RUN/ovs-vswitchd.pid" --unixctl="$RUN/ovs-vswitchd.ctl" \
            --log-file="$OVS_LOGDIR/ovs-vswitchd.log" --detach --no-chdir
        log "started ovsdb-server and ovs-vswitchd in $DIR"
    fi
    printf 'OVS_RUNDIR=%s\n' "$RUN"
}

stop_daemons() {
    local name pid
    for name in ovs-vswitchd ovsdb-server; do
        if alive "$name"; then
            pid=$(cat "$RUN/$name.pid")
            kill -TERM "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            log "stopped $name ($pid)"
        fi
    done
}

stop() {
    stop_daemons
    rm -rf "$DIR"
}

case ${1:-start} in
    start) start ;;
    stop) stop ;;
    *) die "usage: $0 [start|stop]" ;;
esac
