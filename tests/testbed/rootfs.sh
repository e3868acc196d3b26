#!/usr/bin/env bash
# Builds the Debian 12 root filesystems test-bed hosts overlay, cached under $JIG_TESTBED_CACHE
# and rebuilt only when this recipe changes: the sha256 of this script is kept in each rootfs's
# stamp file and compared on every call. (The init and the per-host set-up are copied in at
# boot by boot.sh, so changing them costs no rebuild.)
#   rootfs-bookworm         the hosts jig manages: no python3, on purpose.
#   rootfs-bookworm-python  the same plus python3, for running ansible-core against the bed
#                           (facts parity, benchmarks); made from the first, no new debootstrap.
# Usage: rootfs.sh [--python] [--force]   prints the rootfs path on stdout when it is ready.
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

# What the hosts need and nothing more: sshd for the transport, sudo/su for become, iproute2
# and procps for facts and the fault tests, the sysv `service` wrapper so roles can restart
# ssh.
PACKAGES="openssh-server,sudo,iproute2,procps,init-system-helpers,ca-certificates"
PYTHON_PACKAGES=(python3 python3-apt)

python=0 force=0
for arg in "$@"; do
    case "$arg" in
        --python) python=1 ;;
        --force) force=1 ;;
        *) die "usage: rootfs.sh [--python] [--force]" ;;
    esac
done

need_root
need_cmd debootstrap flock sha256sum apt-get

mkdir -p "$JIG_TESTBED_CACHE"
want="$(recipe_hash "$here/rootfs.sh")"

# True when ROOTFS was built by this very recipe.
current() {
    [ -f "$1/.jig-testbed-recipe" ] && [ "$(cat "$1/.jig-testbed-recipe")" = "$want" ]
}

# Moves the finished tree NEW into place as DEST, stamped.
publish() {
    local new="$1" dest="$2"
    echo "$want" >"$new/.jig-testbed-recipe"
    rm -rf "$dest.old"
    if [ -d "$dest" ]; then mv "$dest" "$dest.old"; fi
    mv "$new" "$dest"
    rm -rf "$dest.old"
}

build_base() {
    local mirror new debs start
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
# jig test bed: key-only login for root, no DNS lookups (there is no resolver), and room for
# the many concurrent sessions and connections the parallel and bench tests open. The user
# jig may also log in with its password, for password-authentication tests.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxStartups 200:30:400
Match User jig
    PasswordAuthentication yes
CONF

    # The local repository is the hosts' only apt source; the debootstrap mirror line goes.
    rm -f "$new/etc/apt/sources.list"
    mkdir -p "$new/srv/jig-apt"
    echo 'deb [trusted=yes] file:/srv/jig-apt ./' >"$new/etc/apt/sources.list.d/jig-testbed.list"
    cat >"$new/etc/apt/apt.conf.d/90jig-testbed" <<'CONF'
Acquire::Languages "none";
APT::Install-Recommends "false";
CONF

    # An unprivileged user for become_user, sudo-with-password and password-login tests; its
    # password is public test data ("jig"), usable only inside the test bed.
    chroot "$new" useradd --create-home --shell /bin/bash --groups sudo jig
    echo 'jig:jig' | chroot "$new" chpasswd
    mkdir -p "$new/root/.ssh" "$new/home/jig/.ssh"
    chmod 700 "$new/root/.ssh" "$new/home/jig/.ssh"
    chroot "$new" chown jig:jig /home/jig/.ssh

    chroot "$new" apt-get clean
    rm -rf "$new"/var/lib/apt/lists/* "$new"/var/cache/apt/*.bin
    publish "$new" "$JIG_TESTBED_ROOTFS"
    log "rootfs ready in $(($(date +%s) - start))s: $JIG_TESTBED_ROOTFS"
}

# The python flavour: a copy of the base with python3 installed from .debs this machine's apt
# downloads, resolved against the copy's own dpkg status (so only what is missing).
build_python() {
    local dest="$JIG_TESTBED_ROOTFS-python" new start debs apt_state
    new="$dest.new"
    start=$(date +%s)
    log "building the python3 flavour of the rootfs"
    rm -rf "$new"
    cp -a "$JIG_TESTBED_ROOTFS" "$new"
    debs="$new/var/cache/apt/archives"
    apt_state="$(mktemp -d)"
    mkdir -p "$apt_state/cache" "$debs/partial"
    if ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; then
        apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -qq -y --download-only --no-install-recommends \
        -o Debug::NoLocking=1 \
        -o Dir::State::status="$new/var/lib/dpkg/status" \
        -o Dir::Cache="$apt_state/cache" \
        -o Dir::Cache::archives="$debs" \
        install "${PYTHON_PACKAGES[@]}" >"$JIG_TESTBED_CACHE/rootfs-python.log" 2>&1 \
        || die "downloading python3 failed; see $JIG_TESTBED_CACHE/rootfs-python.log"
    rm -rf "$apt_state"
    # apt, not dpkg -i, so the pre-dependencies among the files are unpacked in order.
    # shellcheck disable=SC2016 # expanded inside the chroot
    chroot "$new" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q /var/cache/apt/archives/*.deb' \
        >>"$JIG_TESTBED_CACHE/rootfs-python.log" 2>&1 \
        || die "installing python3 failed; see $JIG_TESTBED_CACHE/rootfs-python.log"
    chroot "$new" apt-get clean
    publish "$new" "$dest"
    log "python3 rootfs ready in $(($(date +%s) - start))s: $dest"
}

# One builder at a time: tests started in parallel all call this script.
exec 9>"$JIG_TESTBED_CACHE/rootfs.lock"
flock 9

if [ "$force" -eq 1 ] || ! current "$JIG_TESTBED_ROOTFS"; then
    build_base
fi
if [ "$python" -eq 0 ]; then
    printf '%s\n' "$JIG_TESTBED_ROOTFS"
    exit 0
fi
if [ "$force" -eq 1 ] || ! current "$JIG_TESTBED_ROOTFS-python"; then
    build_python
fi
printf '%s\n' "$JIG_TESTBED_ROOTFS-python"
