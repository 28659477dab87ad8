#!/usr/bin/env bash
# Benchmark: `imapprobe batch --level login` over a migration CSV of 1,000
# users (N to change it) against the local Dovecot fixture, at concurrency
# 1, 8 and 50, beside a sequential Python imaplib loop and a Python thread
# pool of 50, and a minimal blocking rustls client (examples/login_floor.rs),
# the least CPU any rustls client spends per login. For every run: wall time, the client's CPU (user+sys) and peak
# RSS, and the CPU the Dovecot processes spent, which divided by the cores
# is the floor no client can go below. One warm-up pass first, so that every
# measured run meets users whose index files exist. Prints a markdown table;
# BENCHMARKS.md records one run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-dovecot
N=${N:-1000}
target=${CARGO_TARGET_DIR:-target}
REPEAT=${REPEAT:-3}
cargo build --release --quiet --bin imapprobe --example local-dovecot --example login-floor
work=$(mktemp -d)
"$target/release/examples/local-dovecot" --serve-users "$work/env" "$N" &
server=$!
# Removing the file stops the server cleanly (a signal would leak Dovecot).
trap 'rm -f "$work/env"; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 600); do [ -s "$work/env" ] && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/env"
probe="$target/release/imapprobe"
batch() {
    "$probe" batch --csv "$USERS_CSV" --host localhost --port "$IMAPS_PORT" --tls implicit \
        --ca-file "$CA_FILE" --quiet --format json --output "$work/out.jsonl" \
        --concurrency "$1" --max-connections "$1"
}
measure() { python3 bench/batch_measure.py "$1" "$N" "$DOVECOT_PID" "$REPEAT" -- "${@:2}"; }
export -f batch
export probe USERS_CSV IMAPS_PORT CA_FILE work
echo "warm-up: $(bash -c 'batch 8' 2>/dev/null | head -c 200 | grep -o '"passed":[0-9]*')" >&2
echo "$N logins, median of $REPEAT runs, $(nproc) cores, $(python3 -c 'import platform; print(platform.processor() or platform.machine())')"
echo
echo "| client | wall s | client CPU s | client CPU ms/login | peak RSS MB | Dovecot CPU s | floor s (Dovecot CPU / cores) | wall / floor | exit |"
echo "|---|---|---|---|---|---|---|---|---|"
for c in 1 8 50; do
    measure "imapprobe batch --concurrency $c" bash -c "batch $c 2>/dev/null"
    passed=$(tail -n 1 "$work/out.jsonl" | grep -o '"passed":[0-9]*')
    echo "  imapprobe --concurrency $c: $passed" >&2
done
measure "python3 imaplib, sequential" python3 bench/batch_imaplib.py "$USERS_CSV" "$IMAPS_PORT" "$CA_FILE" 1
measure "python3 imaplib, 50 threads" python3 bench/batch_imaplib.py "$USERS_CSV" "$IMAPS_PORT" "$CA_FILE" 50
measure "Rust floor: blocking rustls loop, sequential" "$target/release/examples/login-floor" "$USERS_CSV" "$IMAPS_PORT" "$CA_FILE"
