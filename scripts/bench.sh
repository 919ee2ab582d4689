#!/usr/bin/env bash
# Run onemap's benchmarks (bench/*.py with a main()).
#
#   scripts/bench.sh                 every benchmark, one after another
#   scripts/bench.sh ogc [ARGS…]     one benchmark: bench/ogc.py or bench/ogc_*.py, with its options
#   scripts/bench.sh --list          the benchmarks found
#
# Sets up first (scripts/setup.sh bench: the venv, test tools and wrk). Benchmarks start and
# stop their own servers; a failing benchmark does not stop the others, but the
# exit status is non-zero if any failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
cd "$ROOT"

case "${1:-}" in
    --list|-h|--help) ;;
    *) "$ROOT/scripts/setup.sh" bench || exit 1 ;;
esac

benchmarks() {
    local f
    for f in "$ROOT"/bench/*.py; do
        [[ -e "$f" ]] || continue
        grep -q '^def main(' "$f" && basename "$f" .py
    done
}

resolve() {  # NAME -> bench/NAME.py, else the single bench/NAME_*.py
    local name="$1" matches=()
    if [[ -f "$ROOT/bench/$name.py" ]]; then
        echo "$name"
        return 0
    fi
    mapfile -t matches < <(benchmarks | grep -E "^${name}(_|$)")
    if [[ ${#matches[@]} -eq 1 ]]; then
        echo "${matches[0]}"
        return 0
    fi
    echo "unknown or ambiguous benchmark '$name'; known: $(benchmarks | tr '\n' ' ')" >&2
    return 1
}

case "${1:-}" in
    --list)
        benchmarks
        ;;
    -h|--help)
        sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    "")
        status=0
        for name in $(benchmarks); do
            echo "=== bench/$name.py ==="
            "$PY" "$ROOT/bench/$name.py" || { echo "bench/$name.py failed (exit $?)" >&2; status=1; }
        done
        exit $status
        ;;
    *)
        name="$(resolve "$1")" || exit 2
        shift
        exec "$PY" "$ROOT/bench/$name.py" "$@"
        ;;
esac
