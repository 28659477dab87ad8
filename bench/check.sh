#!/usr/bin/env bash
# Benchmark: `imapprobe check` sweeping a generated Dovecot mailbox on
# loopback, beside the same commands sent by
#   (a) a plain Python imaplib script (bench/imaplib_check.py), and
#   (b) a minimal pipelining reader that throws the answers away
#       (bench/raw_stream.py): the floor, the server's own streaming time;
# in one run: the metadata sweep (EXAMINE, UID SEARCH ALL, UID FETCH of
# UID RFC822.SIZE INTERNALDATE FLAGS in chunks) and the full sweep (also
# BODY.PEEK[] of every message). Wall time from hyperfine, peak RSS from
# GNU time (every run, warm-ups included; the largest is shown).
#
# Environment (defaults in brackets):
#   FOLDERS [100], PER_FOLDER [1000]  size of the generated mailbox
#   RUNS [5], FULL_RUNS [3], WARMUP [0]  hyperfine runs per row (each row
#                                     is also run once before, checked)
#   CHUNK [500]                       UIDs per metadata UID FETCH
#   ONLY_PEERS=1                      skip the imapprobe rows (and its build)
#   CARGO_TARGET_DIR [target]
# The server is `local-dovecot --serve-bulk` (seeded with Dovecot::seed_bulk,
# indexed before the first client); it is stopped by removing its file.
set -euo pipefail
cd "$(dirname "$0")/.."
FOLDERS=${FOLDERS:-100}
PER_FOLDER=${PER_FOLDER:-1000}
RUNS=${RUNS:-5}
FULL_RUNS=${FULL_RUNS:-3}
WARMUP=${WARMUP:-0}
CHUNK=${CHUNK:-500}
ONLY_PEERS=${ONLY_PEERS:-}
target=${CARGO_TARGET_DIR:-target}

scripts/ensure-dovecot
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ -n "$ONLY_PEERS" ]; then
    cargo build --release --quiet --example local-dovecot
else
    cargo build --release --quiet --bin imapprobe --example local-dovecot
fi

work=$(mktemp -d)
"$target/release/examples/local-dovecot" --serve-bulk "$work/env" "$FOLDERS" "$PER_FOLDER" \
    2>"$work/server.log" &
server=$!
# Removing the file stops the server cleanly (a signal would leak Dovecot).
trap 'rm -f "$work/env"; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 6000); do
    [ -s "$work/env" ] && break
    if ! kill -0 $server 2>/dev/null; then
        cat "$work/server.log" >&2
        echo "bench/check.sh: the server exited before serving" >&2
        exit 1
    fi
    sleep 0.1
done
[ -s "$work/env" ] || { echo "bench/check.sh: server not ready after 600 s" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/env"
export IMAPS_PORT CA_FILE IMAP_USER IMAP_PW

probe="$target/release/imapprobe"
login="--host localhost --port $IMAPS_PORT --tls implicit --ca-file $CA_FILE --user $IMAP_USER --password-env IMAP_PW"
# name|command, for each mode
meta_rows=()
full_rows=()
if [ -z "$ONLY_PEERS" ]; then
    # --no-probes: the compliance probes are not among the peers' commands.
    meta_rows+=("imapprobe check|$probe check $login --chunk $CHUNK --no-probes --quiet --format json")
    full_rows+=("imapprobe check --full|$probe check $login --chunk $CHUNK --full --no-probes --quiet --format json")
fi
meta_rows+=("python3 imaplib|python3 bench/imaplib_check.py --chunk $CHUNK"
    "raw stream (floor)|python3 bench/raw_stream.py --chunk $CHUNK")
full_rows+=("python3 imaplib --full|python3 bench/imaplib_check.py --chunk $CHUNK --full"
    "raw stream --full (floor)|python3 bench/raw_stream.py --chunk $CHUNK --full")

slug() { echo "$1" | tr -c 'a-zA-Z0-9\n' '_'; }

# Runs one mode: a checked run of every row first (its output and exit
# status, so a failure shows), then hyperfine over all rows, each wrapped
# in GNU time appending its peak RSS to $work/rss.<slug>.
bench_mode() {
    local mode=$1 runs=$2
    shift 2
    local args=() row name cmd status
    for row in "$@"; do
        name=${row%%|*}
        cmd=${row#*|}
        status=0
        # shellcheck disable=SC2086
        $cmd >"$work/out" 2>&1 || status=$?
        echo "  $name: exit $status, $(wc -c <"$work/out") bytes of output; $(head -c 300 "$work/out" | head -1)" >&2
        args+=(-n "$name" "/usr/bin/time -a -o $work/rss.$(slug "$name") -f %M $cmd")
    done
    hyperfine -N -i --warmup "$WARMUP" --runs "$runs" --export-json "$work/$mode.json" "${args[@]}" >/dev/null
}

echo "Server: $(grep -h 'local-dovecot:' "$work/server.log" | tr '\n' ' ')" >&2
echo "metadata sweep:" >&2
bench_mode meta "$RUNS" "${meta_rows[@]}"
echo "full sweep:" >&2
bench_mode full "$FULL_RUNS" "${full_rows[@]}"
# What the Python rows pay before the first byte: interpreter start-up and
# the modules they import.
hyperfine -N --warmup 2 --runs 20 --export-json "$work/python.json" \
    "python3 -c 'import argparse, imaplib, re, socket, ssl'" >/dev/null

python3 - "$work" "$FOLDERS" "$PER_FOLDER" <<'PY'
import json, re, sys
work, folders, per_folder = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
log = open(f"{work}/server.log").read()
mb = re.search(r"messages, ([\d.]+) MB", log)
print(f"### {folders} folders x {per_folder} messages ({folders * per_folder:,}"
      f"{', ' + mb.group(1) + ' MB' if mb else ''}), implicit TLS on loopback")
for mode, title in (("meta", "metadata sweep"), ("full", "full sweep (BODY.PEEK[] of every message)")):
    results = json.load(open(f"{work}/{mode}.json"))["results"]
    floor = results[-1]["median"]
    print(f"\n#### {title}\n")
    print("| Command | Median [s] | Min [s] | Max [s] | Runs | × floor | Peak RSS [MiB] |")
    print("|:---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        name = r["command"]
        slug = re.sub(r"[^a-zA-Z0-9]", "_", name)
        rss = [int(x) for x in open(f"{work}/rss.{slug}").read().split() if x.isdigit()]
        print(f"| `{name}` | {r['median']:.2f} | {r['min']:.2f} | {r['max']:.2f} | {len(r['times'])} "
              f"| {r['median'] / floor:.2f} | {max(rss) / 1024:.1f} |")
startup = json.load(open(f"{work}/python.json"))["results"][0]["median"]
print(f"\nPython start-up and imports (in every Python row): {startup:.3f} s median.")
PY
