#!/bin/sh
# PID 1 of a test-bed host (installed in each host's root as /sbin/jig-init by boot.sh).
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

# A boot id of the host's own over the kernel's, and `shutdown -r`/`reboot` commands that ask
# this init for a "reboot" (SIGUSR1): every other process ends, the boot id changes and sshd
# starts again, so a client sees the host go away and come back as after a real reboot.
new_boot_id() { cat /proc/sys/kernel/random/uuid >/run/jig-boot-id; }
new_boot_id
mount --bind /run/jig-boot-id /proc/sys/kernel/random/boot_id || echo "jig-init: boot id not faked" >&2
for cmd in shutdown reboot; do
    [ -e "/usr/sbin/$cmd" ] || [ -e "/sbin/$cmd" ] && continue
    cat >"/usr/sbin/$cmd" <<'EOS'
#!/bin/sh
# jig test bed: a reboot is a restart of the host's services by its init (jig-init).
delay=0 reboot=0
[ "${0##*/}" = reboot ] && reboot=1
for a in "$@"; do
    case $a in
        -r | --reboot) reboot=1 ;;
        now) delay=0 ;;
        +[0-9]*) delay=${a#+} ;;
        [0-9]*) delay=$a ;;
        -*) ;;
        *) break ;;
    esac
done
[ "$reboot" = 1 ] || { echo "jig test bed: only reboots (shutdown -r, reboot) are supported" >&2; exit 1; }
# A session of its own: the hang-up of the caller's terminal (ssh -tt, as ansible's reboot
# runs this) must not stop it. setsid only detaches once it runs, and the caller's shell may
# exit first: the kernel then hangs up the terminal's foreground group, this child still in
# it. So the hang-up is ignored from before the fork (ignored signals stay ignored across
# exec); without this, ansible-playbook's reboot timed out now and then on a loaded machine.
trap '' HUP
setsid sh -c "sleep $((delay * 60 + 1)); kill -USR1 1" </dev/null >/dev/null 2>&1 &
EOS
    chmod 0755 "/usr/sbin/$cmd"
done
restart() {
    echo "jig-init: reboot requested"
    kill -TERM -1 2>/dev/null
    sleep 1
    kill -KILL -1 2>/dev/null
    new_boot_id
    TERM=dumb service ssh start || echo "jig-init: sshd did not start" >&2
    echo "jig-init: $name up again"
}
trap restart USR1

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
