#!/usr/bin/env bash
# Regenerate tests/parity/cases/*/expected.tree (and expected.recap) with real ansible-core.
#
# Usage: tests/parity/regen.sh [CASE...]     (no argument: every case)
#
# For each case: a fresh output directory, `ansible-playbook -i "$inv" site.yml -e out=DIR`
# as on the local connection, the tree recorded with tree.py, then a second run that must
# report changed=0 (a case that Ansible itself does not converge is a bad case: fix it).
# Needs Python 3 and PyPI; installs ansible-core 2.19 into $ANSIBLE_VENV (default
# /tmp/jig-parity-ansible), never into the repository. Run it as root, like the tests.
# Not run by CI: the expected trees are committed.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
venv="${ANSIBLE_VENV:-/tmp/jig-parity-ansible}"

if [ ! -x "$venv/bin/ansible-playbook" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'ansible-core==2.19.*'
fi
version="$("$venv/bin/ansible-playbook" --version)"
echo "${version%%$'\n'*}"

# The controller's Python runs the modules on the local connection; no ansible.cfg applies.
export ANSIBLE_PYTHON_INTERPRETER="$venv/bin/python3"
# An empty configuration file, so no ansible.cfg of this machine changes the results.
cfg="$(mktemp -d /tmp/jig-parity-cfg.XXXXXX)/ansible.cfg"
: >"$cfg"
export ANSIBLE_CONFIG="$cfg"
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_RETRY_FILES_ENABLED=0
export LC_ALL=C.UTF-8
umask 022

if [ "$#" -gt 0 ]; then
    cases=("$@")
else
    cases=()
    for dir in "$here"/cases/*/; do cases+=("$(basename "$dir")"); done
fi

# The line tests/it/parity.rs appends to a case's managed file (keep the two in step).
HAND_EDIT="edited by hand, not by jig"

status=0
for case in "${cases[@]}"; do
    dir="$here/cases/$case"
    [ -f "$dir/site.yml" ] || { echo "no such case: $case" >&2; exit 1; }
    out="$(mktemp -d /tmp/jig-parity.XXXXXX)"
    log="$(mktemp /tmp/jig-parity-log.XXXXXX)"
    # The inventory: an inventory/ directory, else hosts.yml, else hosts.ini (same rule as
    # tests/it/parity.rs).
    if [ -d "$dir/inventory" ]; then inv=inventory
    elif [ -f "$dir/hosts.yml" ]; then inv=hosts.yml
    else inv=hosts.ini; fi
    echo "== $case"
    # Cases may end in failed hosts on purpose; what is recorded is the tree and the recap.
    (cd "$dir" && "$venv/bin/ansible-playbook" -i "$inv" site.yml -e "out=$out") >"$log" 2>&1 || true
    recap="$(grep -E '^[^ ]+ +: ok=' "$log" || true)"
    if [ -z "$recap" ]; then
        cat "$log"; echo "!! $case: no PLAY RECAP" >&2; status=1; continue
    fi
    python3 "$here/tree.py" "$out" >"$dir/expected.tree"
    printf '%s\n' "$recap" | sed -E 's/ +$//' >"$dir/expected.recap"
    (cd "$dir" && "$venv/bin/ansible-playbook" -i "$inv" site.yml -e "out=$out") >"$log" 2>&1 || true
    second="$(grep -E '^[^ ]+ +: ok=' "$log" || true)"
    if grep -Eq 'changed=[1-9]' <<<"$second" || [ -z "$second" ]; then
        cat "$log"; echo "!! $case: second run is not idempotent: $second" >&2; status=1
    fi
    if [ "$(python3 "$here/tree.py" "$out")" != "$(cat "$dir/expected.tree")" ]; then
        echo "!! $case: second run changed the tree" >&2; status=1
    fi
    # The hand-edit step of tests/it/parity.rs, done by Ansible: --check --diff must show the
    # appended line as removed and change nothing; its exit code is recorded for jig.
    managed="$(cat "$dir/managed")"
    printf '%s\n' "$HAND_EDIT" >>"$out/$managed"
    edited="$(python3 "$here/tree.py" "$out")"
    set +e
    (cd "$dir" && "$venv/bin/ansible-playbook" -i "$inv" site.yml -e "out=$out" --check --diff) >"$log" 2>&1
    echo "$?" >"$dir/expected.check_rc"
    set -e
    if ! grep -qxF -- "-$HAND_EDIT" "$log"; then
        cat "$log"; echo "!! $case: --check --diff does not show the hand edit" >&2; status=1
    fi
    if [ "$(python3 "$here/tree.py" "$out")" != "$edited" ]; then
        echo "!! $case: --check changed the tree" >&2; status=1
    fi
    (cd "$dir" && "$venv/bin/ansible-playbook" -i "$inv" site.yml -e "out=$out") >"$log" 2>&1 || true
    if [ "$(python3 "$here/tree.py" "$out")" != "$(cat "$dir/expected.tree")" ]; then
        echo "!! $case: a normal run did not restore the tree" >&2; status=1
    fi
    echo "   $(cat "$dir/expected.recap")"
    echo "   --check --diff after a hand edit: exit $(cat "$dir/expected.check_rc")"
    rm -rf "$out" "$log"
done
# The example playbook of the repository, with demo_root in a temporary directory, when no
# case is named: tests/it/example.rs holds jig to the same tree.
if [ "$#" -eq 0 ]; then
    repo="$(cd "$here/../.." && pwd)"
    out="$(mktemp -d /tmp/jig-parity.XXXXXX)"
    echo "== example (playbooks/site.yml)"
    log="$(mktemp /tmp/jig-parity-log.XXXXXX)"
    (cd "$repo" && "$venv/bin/ansible-playbook" -i inventories/local playbooks/site.yml \
        -e "demo_root=$out/demo") >"$log" 2>&1 || true
    recap="$(grep -E '^[^ ]+ +: ok=' "$log" || true)"
    if [ -z "$recap" ]; then
        cat "$log"; echo "!! example: no PLAY RECAP" >&2; status=1
    else
        mkdir -p "$here/example"
        python3 "$here/tree.py" "$out" >"$here/example/expected.tree"
        printf '%s\n' "$recap" | sed -E 's/ +$//' >"$here/example/expected.recap"
        echo "   $(cat "$here/example/expected.recap")"
    fi
    rm -rf "$out" "$log"
fi
exit "$status"
