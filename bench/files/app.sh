#!/bin/sh
# The bench application's (pretend) start script.
set -eu
case "${1:-}" in
init)
    mkdir -p "$2"
    date -u +%s > "$2/initialised"
    ;;
*)
    echo "usage: app.sh init DIR" >&2
    exit 2
    ;;
esac
