#!/usr/bin/env bash
# Starts, stops and breaks test-bed hosts: real sshd hosts on this machine, each an overlay of
# the cached rootfs with its own network (namespace jig-NAME, a veth on the bridge
# $JIG_TESTBED_BRIDGE, address $JIG_TESTBED_NET.INDEX), mount, PID and UTS namespaces, and a
# tiny init as PID 1 that runs sshd. Everything is found again through files under
# $JIG_TESTBED_RUN and ended by recorded pid, never by process name.
#
# Usage:
#   host.sh up NAME INDEX|auto [--python]
#                                start a host (prints "NAME ADDRESS"); INDEX is 1..253;
#                                --python: from the rootfs with python3 (for ansible-core)
#   host.sh down NAME            stop it and remove every trace (mounts, netns, veth, files)
#   host.sh down-all [--force]   down every host whose owner process is gone or unrecorded
#                                (--force: every host, even a running test's), then the bridge
#   host.sh stop NAME            fault: kill its init (the host is gone; `down` still cleans)
#   host.sh cut NAME | mend NAME fault: take its link down / bring it back
#   host.sh fill NAME | unfill NAME  fault: fill its disk (ENOSPC on every write) / undo
#   host.sh root NAME            print a path to its root file system as the host sees it
#   host.sh status               one line per host: NAME INDEX ADDRESS running|stopped
#   host.sh key                  print the client private key path (made once per run)
#
# Environment: JIG_TESTBED_RUN (state base, default /run/jig-testbed), JIG_TESTBED_CACHE,
# JIG_TESTBED_DISK_MB (size of each host's disk, default 512), JIG_TESTBED_OWNER (pid of the
# process that owns the host: hosts whose owner died are taken down by the next `up`),
# JIG_TESTBED_RSA=1 (give hosts an RSA host key too, besides ed25519 and ecdsa).
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

DISK_MB="${JIG_TESTBED_DISK_MB:-512}"
hosts_dir="$JIG_TESTBED_RUN/hosts"
slots_dir="$JIG_TESTBED_RUN/slots"

usage() { sed -n '/^# Usage:/,/^# Environment/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

check_name() {
    [[ "$1" =~ ^[a-z0-9][a-z0-9-]{0,39}$ ]] \
        || die "bad host name '$1': use 1-40 of a-z, 0-9 and '-', starting with a letter or digit"
}

# Short critical sections (slots, bridge) are serialised across concurrent callers.
with_lock() {
    mkdir -p "$JIG_TESTBED_RUN"
    (
        flock 8
        "$@"
    ) 8>"$JIG_TESTBED_RUN/lock"
}

# "pid starttime" of a live process, so a recorded pid is trusted only while the very same
# process holds it (pids are reused).
proc_id() {
    local pid="$1" stat
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    # After the command name: field 3 is state; starttime is field 22, i.e. the 20th here.
    local fields
    read -ra fields <<<"$stat"
    # A zombie has exited already; only its parent's wait is missing.
    [ "${fields[0]}" != Z ] || return 1
    printf '%s %s\n' "$pid" "${fields[19]}"
}

# True when the process recorded in FILE ("pid starttime") is still that process.
recorded_alive() {
    local file="$1" rec now
    [ -s "$file" ] || return 1
    rec="$(cat "$file")"
    now="$(proc_id "${rec%% *}")" || return 1
    [ "$now" = "$rec" ]
}

kill_recorded() {
    local file="$1" i
    recorded_alive "$file" || return 0
    kill -KILL "$(cut -d' ' -f1 "$file")" 2>/dev/null || true
    for i in $(seq 1 100); do
        recorded_alive "$file" || return 0
        sleep 0.05
    done
    die "process in $file did not die"
}

# The test-bed links carry IPv4 only: no router solicitations or other IPv6 chatter.
no_ipv6() {
    echo 1 >"/proc/sys/net/ipv6/conf/$1/disable_ipv6" 2>/dev/null || true
}

ensure_bridge() {
    if ! ip link show "$JIG_TESTBED_BRIDGE" >/dev/null 2>&1; then
        ip link add "$JIG_TESTBED_BRIDGE" type bridge
        no_ipv6 "$JIG_TESTBED_BRIDGE"
        ip addr add "$JIG_TESTBED_GATEWAY/24" dev "$JIG_TESTBED_BRIDGE"
        ip link set "$JIG_TESTBED_BRIDGE" up
    fi
}

remove_bridge_if_idle() {
    if [ -z "$(ls -A "$hosts_dir" 2>/dev/null)" ] && ip link show "$JIG_TESTBED_BRIDGE" >/dev/null 2>&1; then
        ip link del "$JIG_TESTBED_BRIDGE"
    fi
}

# Claims a slot (an address) and the name atomically, and builds the host's network.
claim() {
    local name="$1" want="$2" i
    mkdir -p "$hosts_dir" "$slots_dir"
    mkdir "$hosts_dir/$name" 2>/dev/null || die "host '$name' is already up (host.sh down $name)"
    # Marks the half-built host as this call's, so a failure below is cleaned up by us only.
    echo "$$" >"$hosts_dir/$name/claimer"
    local index=""
    if [ "$want" = auto ]; then
        for i in $(seq 1 253); do
            if mkdir "$slots_dir/$i" 2>/dev/null; then index="$i"; break; fi
        done
        [ -n "$index" ] || { rm -rf "${hosts_dir:?}/$name"; die "all 253 test-bed addresses are in use"; }
    else
        mkdir "$slots_dir/$want" 2>/dev/null \
            || { rm -rf "${hosts_dir:?}/$name"; die "index $want is taken by host '$(cat "$slots_dir/$want/name" 2>/dev/null)'"; }
        index="$want"
    fi
    echo "$name" >"$slots_dir/$index/name"
    echo "$index" >"$hosts_dir/$name/index"
    echo "$JIG_TESTBED_NET.$index" >"$hosts_dir/$name/address"

    ensure_bridge
    local ns="jig-$name" veth="jv$index"
    ip netns add "$ns"
    ip link add "$veth" type veth peer name eth0 netns "$ns"
    no_ipv6 "$veth"
    ip link set "$veth" master "$JIG_TESTBED_BRIDGE" up
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sh -c 'echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6' 2>/dev/null || true
    ip -n "$ns" addr add "$JIG_TESTBED_NET.$index/24" dev eth0
    ip -n "$ns" link set eth0 up
    # A default route so the host has one (facts report default_ipv4); the controller does
    # not forward, so nothing leaves the test bed.
    ip -n "$ns" route add default via "$JIG_TESTBED_GATEWAY"
}

client_key() {
    local key="$JIG_TESTBED_RUN/id_ed25519"
    if [ ! -s "$key" ]; then
        ssh-keygen -q -t ed25519 -N '' -C "jig-testbed" -f "$key.tmp" <<<y >/dev/null
        mv "$key.tmp.pub" "$key.pub"
        mv "$key.tmp" "$key"
    fi
    printf '%s\n' "$key"
}

# Takes down hosts whose recorded owner process has exited (a test that crashed).
reap_orphans() {
    local dir name
    for dir in "$hosts_dir"/*/; do
        [ -d "$dir" ] || continue
        [ -s "$dir/owner" ] || continue
        recorded_alive "$dir/owner" && continue
        name="$(basename "$dir")"
        log "taking down '$name': its owner process has exited"
        down "$name" || true
    done
}

up() {
    local name="$1" want="$2" flavour="${3:-}"
    [ -z "$flavour" ] || [ "$flavour" = --python ] || usage
    check_name "$name"
    [ "$want" = auto ] || { [[ "$want" =~ ^[0-9]+$ ]] && [ "$want" -ge 1 ] && [ "$want" -le 253 ]; } \
        || die "bad index '$want': use 1..253 or auto"
    need_root
    need_cmd ip unshare chroot ssh-keygen mount umount flock setsid
    local rootfs repo
    rootfs="$("$here/rootfs.sh" ${flavour:+"$flavour"})"
    repo="$("$here/aptrepo.sh")"
    mkdir -p "$JIG_TESTBED_RUN"
    reap_orphans
    if ! with_lock claim "$name" "$want"; then
        if [ "$(cat "$hosts_dir/$name/claimer" 2>/dev/null)" = "$$" ]; then
            down "$name" >/dev/null 2>&1 || true
        fi
        exit 1
    fi
    local state="$hosts_dir/$name" addr
    addr="$(cat "$state/address")"
    if [ -n "${JIG_TESTBED_OWNER:-}" ]; then
        proc_id "$JIG_TESTBED_OWNER" >"$state/owner" || die "owner pid $JIG_TESTBED_OWNER is not running"
    fi
    # From here on a failure (including `die`) must not leave a half-built host behind.
    starting="$name"
    trap 'if [ -n "${starting:-}" ]; then log "start of $starting failed; cleaning up"; down "$starting" >/dev/null 2>&1 || true; fi' EXIT

    mkdir -p "$state/disk" "$state/root" "$state/keys"
    mount -t tmpfs -o "size=${DISK_MB}m,mode=0755" "jig-disk-$name" "$state/disk"
    mkdir "$state/disk/upper" "$state/disk/work"

    local key
    key="$(with_lock client_key)"
    cp "$key.pub" "$state/authorized_keys"
    # RSA keys take a second or more each to make, so only on request (JIG_TESTBED_RSA=1).
    local t types="ed25519 ecdsa"
    [ "${JIG_TESTBED_RSA:-0}" = 1 ] && types="$types rsa"
    for t in $types; do
        ssh-keygen -q -t "$t" -N '' -C "root@$name" -f "$state/keys/ssh_host_${t}_key"
        printf '%s %s\n' "$addr" "$(cut -d' ' -f1,2 "$state/keys/ssh_host_${t}_key.pub")"
    done >"$state/known_hosts"

    setsid ip netns exec "jig-$name" \
        unshare --mount --pid --uts --fork --propagation private \
        "$here/boot.sh" "$name" "$rootfs" "$state" "$repo" \
        </dev/null >"$state/console.log" 2>&1 &
    local outer=$!
    proc_id "$outer" >"$state/unshare.pid"
    # The init is unshare's only child; its pid (in our namespace) is what `stop` kills.
    local i child=""
    for i in $(seq 1 200); do
        child="$(tr -d ' ' <"/proc/$outer/task/$outer/children" 2>/dev/null)" || true
        [ -n "$child" ] && break
        recorded_alive "$state/unshare.pid" || break
        sleep 0.02
    done
    [ -n "$child" ] || die "host '$name' did not start: $(cat "$state/console.log")"
    proc_id "$child" >"$state/init.pid"

    for i in $(seq 1 300); do
        if timeout 1 bash -c ": </dev/tcp/$addr/22" 2>/dev/null; then
            starting=""
            printf '%s %s\n' "$name" "$addr"
            return 0
        fi
        recorded_alive "$state/init.pid" || die "host '$name' died while starting: $(cat "$state/console.log")"
        sleep 0.1
    done
    die "sshd on '$name' ($addr) did not listen within 30s: $(cat "$state/console.log")"
}

down() {
    local name="$1"
    check_name "$name"
    local state="$hosts_dir/$name"
    [ -d "$state" ] || return 0
    kill_recorded "$state/init.pid"
    # unshare exits once its child is gone; kill it only if it lingers.
    local i
    for i in $(seq 1 40); do
        recorded_alive "$state/unshare.pid" || break
        sleep 0.05
    done
    kill_recorded "$state/unshare.pid"
    if mountpoint -q "$state/disk"; then
        umount "$state/disk"
    fi
    local index=""
    [ -s "$state/index" ] && index="$(cat "$state/index")"
    ip netns del "jig-$name" 2>/dev/null || true
    # Deleting the namespace destroys the veth pair, but asynchronously: wait, then insist.
    if [ -n "$index" ]; then
        for i in $(seq 1 40); do
            ip link show "jv$index" >/dev/null 2>&1 || break
            sleep 0.05
        done
        ip link del "jv$index" 2>/dev/null || true
        ! ip link show "jv$index" >/dev/null 2>&1 || die "cannot remove link jv$index of '$name'"
    fi
    rm -rf "$state"
    if [ -n "$index" ] && [ "$(cat "$slots_dir/$index/name" 2>/dev/null)" = "$name" ]; then
        rm -rf "${slots_dir:?}/$index"
    fi
    with_lock remove_bridge_if_idle
}

down_all() {
    local force="$1" dir
    for dir in "$hosts_dir"/*/; do
        [ -d "$dir" ] || continue
        if [ "$force" != --force ] && recorded_alive "$dir/owner"; then
            log "leaving '$(basename "$dir")' up: its owner (pid $(cut -d' ' -f1 "$dir/owner")) still runs (--force takes it down)"
            continue
        fi
        down "$(basename "$dir")"
    done
    with_lock remove_bridge_if_idle
}

host_state() {
    check_name "$1"
    local state="$hosts_dir/$1"
    [ -d "$state" ] || die "host '$1' is not up"
    printf '%s\n' "$state"
}

stop() {
    local state
    state="$(host_state "$1")"
    kill_recorded "$state/init.pid"
}

link() {
    local state
    state="$(host_state "$1")"
    ip link set "jv$(cat "$state/index")" "$2"
}

fill() {
    local state disk avail
    state="$(host_state "$1")"
    disk="$state/disk"
    avail="$(df --output=avail -B1 "$disk" | tail -n 1 | tr -d ' ')"
    if [ "$avail" -gt 0 ]; then
        fallocate -l "$avail" "$disk/filler" 2>/dev/null || true
    fi
    # Whatever fallocate left (block rounding) goes too.
    dd if=/dev/zero of="$disk/filler.tail" bs=4096 2>/dev/null || true
}

unfill() {
    local state
    state="$(host_state "$1")"
    rm -f "$state/disk/filler" "$state/disk/filler.tail"
}

root_path() {
    local state
    state="$(host_state "$1")"
    recorded_alive "$state/init.pid" || die "host '$1' is not running"
    printf '/proc/%s/root\n' "$(cut -d' ' -f1 "$state/init.pid")"
}

status() {
    local dir name run
    for dir in "$hosts_dir"/*/; do
        [ -d "$dir" ] || continue
        name="$(basename "$dir")"
        run=stopped
        recorded_alive "$dir/init.pid" && run=running
        printf '%s %s %s %s\n' "$name" "$(cat "$dir/index" 2>/dev/null)" "$(cat "$dir/address" 2>/dev/null)" "$run"
    done
}

cmd="${1:-}"
case "$cmd" in
    up) [ $# -eq 3 ] || [ $# -eq 4 ] || usage; up "$2" "$3" "${4:-}" ;;
    down) [ $# -eq 2 ] || usage; need_root; down "$2" ;;
    down-all)
        [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --force ]; } || usage
        need_root
        down_all "${2:-}"
        ;;
    stop) [ $# -eq 2 ] || usage; need_root; stop "$2" ;;
    cut) [ $# -eq 2 ] || usage; need_root; link "$2" down ;;
    mend) [ $# -eq 2 ] || usage; need_root; link "$2" up ;;
    fill) [ $# -eq 2 ] || usage; need_root; fill "$2" ;;
    unfill) [ $# -eq 2 ] || usage; need_root; unfill "$2" ;;
    root) [ $# -eq 2 ] || usage; root_path "$2" ;;
    status) [ $# -eq 1 ] || usage; status ;;
    key) [ $# -eq 1 ] || usage; need_root; with_lock client_key ;;
    *) usage ;;
esac
