#!/usr/bin/env bash
# Builds the Debian 12 root filesystem every test-bed host overlays, cached under
# $JIG_TESTBED_CACHE/rootfs-bookworm and rebuilt only when this recipe changes: the sha256 of
# this script is kept in the rootfs's stamp file and compared on every call. (The init and
# the per-host set-up are copied in at boot by boot.sh, so changing them costs no rebuild.)
# Usage: rootfs.sh [--force]      prints the rootfs path on stdout when it is ready.
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"

# What the hosts need and nothing more: sshd for the transport, sudo/su for become, iproute2
# and procps for facts and the fault tests, the sysv `service` wrapper so roles can restart
# ssh. No python3, on purpose: jig must work without it.
PACKAGES="openssh-server,sudo,iproute2,procps,init-system-helpers,ca-certificates"

need_root
need_cmd debootstrap flock sha256sum

force=0
[ "${1:-}" = "--force" ] && force=1

mkdir -p "$JIG_TESTBED_CACHE"
want="$(recipe_hash "$here/rootfs.sh")"
stamp="$JIG_TESTBED_ROOTFS/.jig-testbed-recipe"

# One builder at a time: tests started in parallel all call this script.
exec 9>"$JIG_TESTBED_CACHE/rootfs.lock"
flock 9

if [ "$force" -eq 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    printf '%s\n' "$JIG_TESTBED_ROOTFS"
    exit 0
fi

mirror="$(debian_mirror)"
new="$JIG_TESTBED_ROOTFS.new"
debs="$JIG_TESTBED_CACHE/debootstrap-debs"
rm -rf "$new"
mkdir -p "$new" "$debs"
log "building $JIG_TESTBED_SUITE rootfs from $mirror (takes a few minutes; cached afterwards)"
start=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$debs" \
    "$JIG_TESTBED_SUITE" "$new" "$mirror" >"$JIG_TESTBED_CACHE/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $JIG_TESTBED_CACHE/debootstrap.log"

# Host keys are made per host at start-up (host.sh) so that every host's key differs.
rm -f "$new"/etc/ssh/ssh_host_*

cat >"$new/etc/ssh/sshd_config.d/jig-testbed.conf" <<'CONF'
# jig test bed: key-only root login, no DNS lookups (there is no resolver), and room for the
# many concurrent sessions and connections the parallel and bench tests open.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 200:30:400
CONF

# The local repository is the hosts' only apt source; the debootstrap mirror line goes.
rm -f "$new/etc/apt/sources.list"
mkdir -p "$new/srv/jig-apt"
echo 'deb [trusted=yes] file:/srv/jig-apt ./' >"$new/etc/apt/sources.list.d/jig-testbed.list"
cat >"$new/etc/apt/apt.conf.d/90jig-testbed" <<'CONF'
Acquire::Languages "none";
APT::Install-Recommends "false";
CONF

# An unprivileged user for become_user and sudo-with-password tests; its password is
# public test data ("jig"), usable only inside the test bed.
chroot "$new" useradd --create-home --shell /bin/bash --groups sudo jig
echo 'jig:jig' | chroot "$new" chpasswd
mkdir -p "$new/root/.ssh" "$new/home/jig/.ssh"
chmod 700 "$new/root/.ssh" "$new/home/jig/.ssh"
chroot "$new" chown jig:jig /home/jig/.ssh

chroot "$new" apt-get clean
rm -rf "$new"/var/lib/apt/lists/* "$new"/var/cache/apt/*.bin

echo "$want" >"$new/.jig-testbed-recipe"
rm -rf "$JIG_TESTBED_ROOTFS.old"
[ -d "$JIG_TESTBED_ROOTFS" ] && mv "$JIG_TESTBED_ROOTFS" "$JIG_TESTBED_ROOTFS.old"
mv "$new" "$JIG_TESTBED_ROOTFS"
rm -rf "$JIG_TESTBED_ROOTFS.old"
log "rootfs ready in $(( $(date +%s) - start ))s: $JIG_TESTBED_ROOTFS"
printf '%s\n' "$JIG_TESTBED_ROOTFS"
