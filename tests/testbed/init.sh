#!/bin/sh
# PID 1 of a test-bed host (installed in the rootfs as /sbin/jig-init by rootfs.sh).
# It mounts the kernel file systems, names the host, starts sshd as an ordinary service and
# then only reaps orphans, so that `service ssh restart` inside the host (as roles do) stops
# and starts sshd without taking the host down. boot.sh starts it with `container=docker` as
# its whole environment, which is what facts read from /proc/1/environ.
# Usage: jig-init HOSTNAME
set -u
name="${1:?usage: jig-init HOSTNAME}"
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

mount -t proc proc /proc
# sysfs shows the network devices of the namespace of whoever mounts it: this host's.
mount -t sysfs -o ro sysfs /sys 2>/dev/null || echo "jig-init: sysfs not mounted" >&2
mount -t tmpfs -o mode=0755,size=1m,nosuid,noexec tmpfs /dev
for spec in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
    # shellcheck disable=SC2086 # splitting "name major minor" is the point
    set -- $spec
    mknod -m 0666 "/dev/$1" c "$2" "$3"
done
mkdir -p /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/lock

hostname "$name"
echo "$name" >/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$name" >/etc/hosts

# boot.sh installs per-host keys; this covers an image started by hand.
[ -e /etc/ssh/ssh_host_ed25519_key ] || ssh-keygen -A

TERM=dumb service ssh start || echo "jig-init: sshd did not start" >&2
echo "jig-init: $name up"

# A stop request ends the host cleanly; SIGKILL from outside (host.sh stop) ends it at once.
trap 'service ssh stop; exit 0' TERM INT
while :; do
    # `wait` reaps every exited child, including orphans re-parented to PID 1.
    sleep 5 &
    wait
done
