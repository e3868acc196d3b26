#!/usr/bin/env bash
# First process inside a new test-bed host's namespaces (started by host.sh through
# `ip netns exec ... unshare --mount --pid --uts --fork`, so it is PID 1 of the new PID
# namespace, in a private mount namespace, not yet chrooted). It assembles the host's root
# -- overlay of the cached rootfs, the local apt repository bind-mounted read-only, this
# host's keys -- and then becomes the host's init. Nothing it mounts is visible outside,
# and all of it disappears with the namespace when the init dies.
# Usage (host.sh only): boot.sh NAME ROOTFS STATE_DIR APT_REPO
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
name="$1" rootfs="$2" state="$3" repo="$4"
root="$state/root"

mount -t overlay "jig-$name" \
    -o "lowerdir=$rootfs,upperdir=$state/disk/upper,workdir=$state/disk/work" "$root"
mount --bind "$repo" "$root/srv/jig-apt"
mount -o remount,bind,ro "$root/srv/jig-apt"

install -m 0755 "$here/init.sh" "$root/sbin/jig-init"

for key in "$state"/keys/ssh_host_*_key; do
    install -m 0600 "$key" "$root/etc/ssh/"
    install -m 0644 "$key.pub" "$root/etc/ssh/"
done

jig_ids="$(awk -F: '$1 == "jig" { print $3 ":" $4 }' "$root/etc/passwd")"
install -m 0600 "$state/authorized_keys" "$root/root/.ssh/authorized_keys"
install -m 0600 -o "${jig_ids%:*}" -g "${jig_ids#*:}" "$state/authorized_keys" \
    "$root/home/jig/.ssh/authorized_keys"

# The init's whole environment: `container=docker` is how facts recognise a container.
chroot_bin="$(command -v chroot)"
exec env -i container=docker "$chroot_bin" "$root" /sbin/jig-init "$name"
