# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for the jig test bed scripts; sourced, never run.
# Why a library: rootfs.sh, aptrepo.sh and host.sh must agree on the cache layout, the mirror
# and the address plan, and a second copy of any of these would drift.

set -euo pipefail

# Long-lived caches (rootfs, apt repo, downloaded .debs) survive between runs.
JIG_TESTBED_CACHE="${JIG_TESTBED_CACHE:-/var/cache/jig-testbed}"
# Per-run state (overlay dirs, pid files, keys) lives under a base that tests may move.
JIG_TESTBED_RUN="${JIG_TESTBED_RUN:-/run/jig-testbed}"
JIG_TESTBED_SUITE="bookworm"
JIG_TESTBED_ROOTFS="$JIG_TESTBED_CACHE/rootfs-$JIG_TESTBED_SUITE"
JIG_TESTBED_APTREPO="$JIG_TESTBED_CACHE/apt-repo"
# The private /24 the test bed owns. Every host's veth joins one bridge that holds the
# controller's address, so hosts reach each other (ProxyJump tests) without IP forwarding
# being switched on for the whole machine. Host INDEX (1..253) is 10.77.0.INDEX.
JIG_TESTBED_NET="${JIG_TESTBED_NET:-10.77.0}"
JIG_TESTBED_GATEWAY="$JIG_TESTBED_NET.254"
JIG_TESTBED_BRIDGE="${JIG_TESTBED_BRIDGE:-jigbr0}"

log() { printf 'testbed: %s\n' "$*" >&2; }
die() { printf 'testbed: error: %s\n' "$*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (mounts, namespaces and veth pairs need it)"
}

need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "'$c' not found; install it (see tests/testbed/README.md)"
    done
}

# The Debian mirror this machine's apt already uses for the suite, so the test bed reaches
# exactly the registry the machine is configured for and no other host.
debian_mirror() {
    local uri=""
    if [ -n "${JIG_TESTBED_MIRROR:-}" ]; then
        printf '%s\n' "$JIG_TESTBED_MIRROR"
        return
    fi
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        # deb822 stanzas: a URIs line followed (in the same stanza) by a Suites line naming the suite.
        uri="$(awk -v suite="$JIG_TESTBED_SUITE" '
            BEGIN { RS=""; FS="\n" }
            {
                u=""; s=""; t=""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, us, /[ \t]+/); u = us[1] }
                    if ($i ~ /^Suites:/) { s = " " $i " " }
                    if ($i ~ /^Types:/) { t = $i }
                }
                if (u != "" && t ~ /deb( |$)/ && s ~ (" " suite " ")) { print u; exit }
            }' "$f")"
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ]; then
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -e "$f" ] || continue
            uri="$(awk -v suite="$JIG_TESTBED_SUITE" '
                $1 == "deb" {
                    i = 2
                    if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i+1) == suite) { print $i; exit }
                }' "$f")"
            [ -n "$uri" ] && break
        done
    fi
    [ -n "$uri" ] || die "no apt source for '$JIG_TESTBED_SUITE' in /etc/apt; set JIG_TESTBED_MIRROR"
    printf '%s\n' "$uri"
}

# sha256 of the given files' contents, the cache key of a recipe.
recipe_hash() {
    cat "$@" | sha256sum | cut -d' ' -f1
}
