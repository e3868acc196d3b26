#!/usr/bin/env bash
# Builds the local apt repository the test-bed hosts install packages from, cached under
# $JIG_TESTBED_CACHE/apt-repo: a few small .deb files plus exactly the dependencies the
# test-bed rootfs lacks, indexed with dpkg-scanpackages. host.sh bind-mounts it read-only
# into every host as /srv/jig-apt, the hosts' only apt source, so they need no network.
# Rebuilt only when this script or the rootfs changes (a stamp records both).
# Usage: aptrepo.sh [--force]      prints the repository path on stdout when it is ready.
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# Small packages for the module tests: one with no dependency (hello), one more (tree), one
# whose dependencies are not in the image (jq: libjq1, libonig5), one that ships a service
# (cron); the tools modules drive on a host (git, curl, wget, unzip, xz-utils, locales,
# tzdata); and the services and runtimes popular roles install (nginx, redis-server,
# memcached, rsyslog, fail2ban, openjdk-17-jre-headless, unattended-upgrades, apache2,
# ntp, haproxy, ufw, iptables, logrotate, acl, gnupg, postfix, auditd, python3-pip,
# nfs-kernel-server, supervisor).
REPO_PACKAGES=(hello tree jq cron git curl wget unzip xz-utils locales tzdata
    nginx redis-server memcached rsyslog fail2ban openjdk-17-jre-headless
    unattended-upgrades apache2 ntp haproxy ufw iptables logrotate acl gnupg
    postfix auditd python3-pip python3-setuptools python3-wheel nfs-kernel-server supervisor)

need_root
need_cmd apt-get dpkg-scanpackages flock sha256sum gzip

force=0
[ "${1:-}" = "--force" ] && force=1

rootfs="$("$here/rootfs.sh")"
mkdir -p "$JIG_TESTBED_CACHE"
want="$( { cat "$here/aptrepo.sh"; cat "$rootfs/.jig-testbed-recipe"; } | sha256sum | cut -d' ' -f1)"
stamp="$JIG_TESTBED_APTREPO/.jig-testbed-recipe"

exec 9>"$JIG_TESTBED_CACHE/apt-repo.lock"
flock 9

if [ "$force" -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    printf '%s\n' "$JIG_TESTBED_APTREPO"
    exit 0
fi

log "building the local apt repository (${REPO_PACKAGES[*]})"
new="$JIG_TESTBED_APTREPO.new"
rm -rf "$new"
mkdir -p "$new/partial"
# Resolve against the rootfs's installed packages, not this machine's, so the repository
# holds what a host is missing; the package lists are the ones this machine's apt fetched
# from its own configured mirror.
apt_state="$(mktemp -d)"
trap 'rm -rf "$apt_state"' EXIT
mkdir -p "$apt_state/lists" "$apt_state/cache"
if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
    apt-get update -qq
fi
DEBIAN_FRONTEND=noninteractive apt-get -qq -y --download-only --no-install-recommends \
    -o Debug::NoLocking=1 \
    -o Dir::State::status="$rootfs/var/lib/dpkg/status" \
    -o Dir::Cache="$apt_state/cache" \
    -o Dir::Cache::archives="$new" \
    install "${REPO_PACKAGES[@]}" >"$JIG_TESTBED_CACHE/apt-repo.log" 2>&1 \
    || die "downloading packages failed; see $JIG_TESTBED_CACHE/apt-repo.log"
rm -rf "$new/partial" "$new/lock"

(
    cd "$new" || die "cannot enter $new"
    dpkg-scanpackages --multiversion . /dev/null >Packages 2>/dev/null
    gzip -9nk Packages
    # A Release file so apt accepts the flat repository ([trusted=yes] skips signatures).
    {
        echo "Origin: jig-testbed"
        echo "Label: jig-testbed"
        echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
        echo "SHA256:"
        for f in Packages Packages.gz; do
            printf ' %s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
        done
    } >Release
)
echo "$want" >"$new/.jig-testbed-recipe"
rm -rf "$JIG_TESTBED_APTREPO"
mv "$new" "$JIG_TESTBED_APTREPO"
log "apt repository ready: $(find "$JIG_TESTBED_APTREPO" -name '*.deb' | wc -l) packages in $JIG_TESTBED_APTREPO"
printf '%s\n' "$JIG_TESTBED_APTREPO"
