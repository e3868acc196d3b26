#!/usr/bin/env bash
# The bench: jig against ansible-core and pyinfra on N test-bed hosts (tests/testbed/).
#
# Usage: bench/run.sh [N]          (N hosts, default 10; needs root, like the test bed)
#
# For each tool, on freshly started hosts (new overlays, so nothing left by another tool):
#   first     the playbook on clean hosts
#   nochange  the same again (must change nothing)
#   check     `--check --diff` (pyinfra: `--dry --diff`) after one file drifted on every host
# Each run is timed by /usr/bin/time -v (wall, user+sys CPU, peak RSS of the largest
# controller process), a sampler adds up the RSS of the controller's whole process tree, and
# every host's sshd (LogLevel VERBOSE, logging to a file) counts the SSH connections and
# sessions each run opened. A table goes to stdout, everything to bench/results/<date>.json.
#
# Environment:
#   BENCH_TOOLS    comma-separated subset of jig,ansible,pyinfra (default all three)
#   BENCH_VENV     the Python venv with ansible-core 2.19 and pyinfra (default
#                  /var/cache/jig-bench/venv; made and filled by pip when missing)
#   BENCH_JIG      the jig binary (default target/release/jig, built when missing or stale)
#   BENCH_KEEP=1   leave the hosts running at the end
#   BENCH_PYINFRA_WAIT=1  run pyinfra without --no-wait (hosts in step, like jig's linear)
#   BENCH_INDEX    the first host's test-bed index (default 190; hosts take BENCH_INDEX..+N-1)
# The bench keeps its hosts apart from the tests' (which may run `down-all` at any time): its
# own state directory, bridge and /24 (JIG_TESTBED_RUN=/run/jig-bench, JIG_TESTBED_BRIDGE=
# jigbench0, JIG_TESTBED_NET=10.78.0) and high indices, since the veth names jvINDEX are shared.
# Traffic goes only to the test-bed addresses (and to PyPI when the venv is made).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
tb="$repo/tests/testbed/host.sh"
N="${1:-10}"
TOOLS="${BENCH_TOOLS:-jig,pyinfra,ansible}"
VENV="${BENCH_VENV:-/var/cache/jig-bench/venv}"
JIG="${BENCH_JIG:-$repo/target/release/jig}"
FIRST="${BENCH_INDEX:-190}"
if ! [[ "$N" =~ ^[1-9][0-9]*$ ]] || [ $((FIRST + N - 1)) -gt 253 ]; then
    echo "usage: $0 [N], 1 <= N and BENCH_INDEX + N - 1 <= 253" >&2
    exit 2
fi
# pyinfra's mode: --no-wait (default, its fastest: hosts never wait for one another) or
# BENCH_PYINFRA_WAIT=1 (each operation finishes on every host first, like jig's linear).
PYINFRA_MODE=(--no-wait)
[ "${BENCH_PYINFRA_WAIT:-0}" = 1 ] && PYINFRA_MODE=()
export JIG_TESTBED_RUN="${JIG_TESTBED_RUN:-/run/jig-bench}"
export JIG_TESTBED_BRIDGE="${JIG_TESTBED_BRIDGE:-jigbench0}"
export JIG_TESTBED_NET="${JIG_TESTBED_NET:-10.78.0}"
[ "$(id -u)" = 0 ] || { echo "bench: the test bed needs root" >&2; exit 1; }

work="$(mktemp -d /tmp/jig-bench.XXXXXX)"
records="$work/records.tsv"
: >"$records"
say() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# ---- tools ------------------------------------------------------------------------------
need_tool() { [[ ",$TOOLS," == *",$1,"* ]]; }

if need_tool jig; then
    if [ -z "${BENCH_JIG:-}" ]; then
        say "cargo build --release (jig)"
        (cd "$repo" && cargo build --release --quiet --bin jig)
    fi
    [ -x "$JIG" ] || { echo "bench: no jig binary at $JIG" >&2; exit 1; }
fi
if need_tool ansible || need_tool pyinfra; then
    if [ ! -x "$VENV/bin/ansible-playbook" ] || [ ! -x "$VENV/bin/pyinfra" ]; then
        say "making the venv $VENV (ansible-core 2.19, pyinfra)"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install --quiet 'ansible-core>=2.19,<2.20' pyinfra
    fi
fi

# ---- hosts ------------------------------------------------------------------------------
names=()
for i in $(seq 1 "$N"); do names+=("bench-$i"); done
declare -A addr

hosts_down() {
    local n pids=()
    for n in "${names[@]}"; do
        "$tb" down "$n" >/dev/null 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" 2>/dev/null || true
}

ssh_host() {
    local n="$1"
    shift
    ssh -F /dev/null -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=5 \
        -o LogLevel=ERROR -o IdentitiesOnly=yes -o "UserKnownHostsFile=$work/known_hosts" \
        -i "$key" -l root "${addr[$n]}" "$@"
}

# Fresh hosts (python flavour, so ansible-core can run; jig and pyinfra ignore python), an
# inventory per tool, and sshd restarted with LogLevel VERBOSE into /var/log/sshd.log.
hosts_up() {
    hosts_down
    local n pids=() out
    local i=0
    for n in "${names[@]}"; do
        "$tb" up "$n" $((FIRST + i)) --python >"$work/up-$n.out" 2>"$work/up-$n.err" &
        pids+=($!)
        i=$((i + 1))
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { cat "$work"/up-*.err >&2; echo "bench: a host did not start" >&2; exit 1; }
    done
    key="$("$tb" key)"
    : >"$work/known_hosts"
    for n in "${names[@]}"; do
        read -r _ out <"$work/up-$n.out"
        addr[$n]="$out"
        cat "$JIG_TESTBED_RUN/hosts/$n/known_hosts" >>"$work/known_hosts"
    done
    write_inventories
    pids=()
    for n in "${names[@]}"; do
        ssh_host "$n" 'sed -i "s|^SSHD_OPTS=.*|SSHD_OPTS=\"-E /var/log/sshd.log -o LogLevel=VERBOSE\"|" /etc/default/ssh && service ssh restart >/dev/null' &
        pids+=($!)
    done
    wait "${pids[@]}"
    for n in "${names[@]}"; do
        local tries=0
        until ssh_host "$n" true 2>/dev/null; do
            tries=$((tries + 1))
            [ "$tries" -lt 50 ] || { echo "bench: sshd on $n did not come back" >&2; exit 1; }
            sleep 0.1
        done
    done
}
host_root() { "$tb" root "$1"; }

write_inventories() {
    local n common
    common="-o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"
    {
        echo "[bench]"
        for n in "${names[@]}"; do
            echo "$n ansible_host=${addr[$n]} ansible_user=root ansible_ssh_private_key_file=$key"
        done
        echo
        echo "[bench:vars]"
        echo "ansible_ssh_common_args=$common"
        echo "ansible_python_interpreter=/usr/bin/python3"
    } >"$work/inventory.ini"
    {
        echo "# pyinfra inventory written by bench/run.sh"
        echo "bench = ["
        for n in "${names[@]}"; do
            printf '    ("%s", {"ssh_hostname": "%s", "ansible_host": "%s", "ssh_user": "root", "ssh_key": "%s", "ssh_known_hosts_file": "%s", "ssh_strict_host_key_checking": "yes"}),\n' \
                "$n" "${addr[$n]}" "${addr[$n]}" "$key" "$work/known_hosts"
        done
        echo "]"
    } >"$work/inventory.py"
    cat >"$work/ansible.cfg" <<EOF
[defaults]
forks = $N
host_key_checking = True
gathering = implicit
interpreter_python = /usr/bin/python3
retry_files_enabled = False
stdout_callback = default

[ssh_connection]
pipelining = True
ssh_args = -o ControlMaster=auto -o ControlPersist=120s -o PreferredAuthentications=publickey
control_path_dir = $work/cp
EOF
    mkdir -p "$work/cp"
}

clear_sshd_logs() {
    local n
    for n in "${names[@]}"; do : >"$(host_root "$n")/var/log/sshd.log"; done
}

# "connections sessions" summed over the hosts, from their sshd logs.
count_ssh() {
    local n c=0 s=0 log
    for n in "${names[@]}"; do
        log="$(host_root "$n")/var/log/sshd.log"
        c=$((c + $(grep -c 'Accepted publickey' "$log" || true)))
        s=$((s + $(grep -c 'Starting session' "$log" || true)))
    done
    echo "$c $s"
}

# One file drifts on every host (the template-managed main config), from outside the host.
drift() {
    local n
    for n in "${names[@]}"; do
        printf 'port = 9999\n' >>"$(host_root "$n")/opt/benchapp/etc/app.conf"
    done
}

# A listing of /opt/benchapp on the first host (type, mode, link target, content hash; the
# timestamp files excluded), so the tools' end states can be compared.
end_state() {
    local r
    r="$(host_root "${names[0]}")"
    (cd "$r/opt/benchapp" && find . -printf '%y %m %p %l\n' | sort &&
        find . -type f ! -name initialised ! -name reloaded ! -name etc.tar -print0 | sort -z |
        xargs -0 md5sum) >"$1"
}

# ---- one timed run ----------------------------------------------------------------------
# run_one TOOL SCENARIO CMD...
run_one() {
    local tool="$1" scen="$2"
    shift 2
    local base="$work/$tool-$scen" rc=0 t0 t1
    clear_sshd_logs
    say "$tool $scen: ${*##*/bin/}"
    t0="$(date +%s.%N)"
    python3 "$here/rss_tree.py" "$base.tree" /usr/bin/time -v -o "$base.time" "$@" \
        >"$base.out" 2>"$base.err" || rc=$?
    t1="$(date +%s.%N)"
    read -r conns sessions < <(count_ssh)
    local user sys rss wall tree changed
    user="$(sed -n 's/^\s*User time (seconds): //p' "$base.time")"
    sys="$(sed -n 's/^\s*System time (seconds): //p' "$base.time")"
    rss="$(sed -n 's/^\s*Maximum resident set size (kbytes): //p' "$base.time")"
    tree="$(cat "$base.tree" 2>/dev/null || echo 0)"
    wall="$(echo "$t1 - $t0" | bc -l)"
    if [ "$tool" = pyinfra ]; then
        # Its results table: Operation, Hosts, Success (= changed), Error, No Change.
        changed="$(awk '/Grand total/ { print ($4 == "-") ? 0 : $4 }' "$base.err")"
    else
        changed="$(grep -oE 'changed=[0-9]+' "$base.out" | cut -d= -f2 | paste -sd+ | bc 2>/dev/null || true)"
    fi
    printf '%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$scen" "$rc" "$wall" \
        "${user:-0}" "${sys:-0}" "${rss:-0}" "$tree" "$conns" "$sessions" "${changed:-}" \
        "$base.out" >>"$records"
    say "$tool $scen: exit $rc, $(printf '%.2f' "$wall") s, ${rss:-?} KiB peak RSS, $sessions sessions"
}

bench_tool() {
    local tool="$1" first nochange check
    case "$tool" in
    jig)
        first=("$JIG" run -i "$work/inventory.ini" --forks "$N" --color never "$here/playbook.yml")
        check=("${first[@]}" --check --diff)
        ;;
    ansible)
        first=(env "ANSIBLE_CONFIG=$work/ansible.cfg" ANSIBLE_NOCOLOR=1
            "$VENV/bin/ansible-playbook" -i "$work/inventory.ini" "$here/playbook.yml")
        check=("${first[@]}" --check --diff)
        ;;
    pyinfra)
        first=(env "PATH=$VENV/bin:$PATH" "$VENV/bin/pyinfra" -y "${PYINFRA_MODE[@]}" --parallel "$N"
            "$work/inventory.py" "$here/pyinfra_deploy.py")
        # Without -y: with it, --dry skips change detection and so shows nothing.
        check=(env "PATH=$VENV/bin:$PATH" "$VENV/bin/pyinfra" "${PYINFRA_MODE[@]}" --parallel "$N" --dry --diff
            "$work/inventory.py" "$here/pyinfra_deploy.py")
        ;;
    *) echo "bench: unknown tool $tool" >&2; exit 2 ;;
    esac
    nochange=("${first[@]}")
    say "$tool: starting $N fresh hosts"
    hosts_up
    run_one "$tool" first "${first[@]}"
    run_one "$tool" nochange "${nochange[@]}"
    end_state "$work/$tool.state"
    drift
    run_one "$tool" check "${check[@]}"
}

IFS=, read -ra tool_list <<<"$TOOLS"
for t in "${tool_list[@]}"; do bench_tool "$t"; done
[ "${BENCH_KEEP:-0}" = 1 ] || hosts_down

# ---- versions and results ---------------------------------------------------------------
versions="$work/versions"
{
    echo "jig_commit=$(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo +dirty)"
    [ -x "$VENV/bin/ansible-playbook" ] && echo "ansible_core=$("$VENV/bin/python" -c 'import ansible.release as r; print(r.__version__)')"
    [ -x "$VENV/bin/pyinfra" ] && echo "pyinfra=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("pyinfra"))')"
    echo "pyinfra_mode=${PYINFRA_MODE[*]:-in step (no --no-wait)}"
    echo "openssh_client=$(ssh -V 2>&1)"
    echo "openssh_server=$(dpkg-query --admindir="${JIG_TESTBED_CACHE:-/var/cache/jig-testbed}/rootfs-bookworm-python/var/lib/dpkg" -W -f '${Version}' openssh-server 2>/dev/null || echo unknown)"
    echo "nproc=$(nproc)"
    echo "mem_total_kib=$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
} >"$versions"
mkdir -p "$here/results"
out="$here/results/$(date -u +%Y-%m-%dT%H%M%SZ)-n$N.json"
python3 "$here/report.py" "$records" "$versions" "$N" "$out" "$work" "$0 $*"
say "results: $out (logs in $work)"
