#!/usr/bin/env bash
# Benchmark: `imapprobe test-server` beside the tools admins use for the same
# question, on loopback against the local Dovecot fixture, in one run:
#   1. a closed port:           imapprobe vs check_imap (monitoring-plugins)
#   2. implicit TLS, no login:  imapprobe vs check_imap -S vs openssl s_client
#   3. implicit TLS with login: imapprobe vs Python imaplib (IMAP4_SSL + LOGIN + LOGOUT)
# Prints hyperfine's markdown tables; BENCHMARKS.md records one run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-dovecot
if ! command -v hyperfine >/dev/null || [ ! -x /usr/lib/nagios/plugins/check_imap ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine monitoring-plugins-basic >/dev/null
fi
cargo build --release --quiet --bin imapprobe --example local-dovecot
work=$(mktemp -d)
target/release/examples/local-dovecot --serve "$work/env" &
server=$!
# Removing the file stops the server cleanly (a signal would leak Dovecot).
trap 'rm -f "$work/env"; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -s "$work/env" ] && break; sleep 0.1; done
# shellcheck disable=SC1091
. "$work/env"
export IMAP_PW
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
probe=target/release/imapprobe
check_imap=/usr/lib/nagios/plugins/check_imap
cat > "$work/imaplib_login.py" <<PY
import imaplib, os, ssl
ctx = ssl.create_default_context(cafile="$CA_FILE")
m = imaplib.IMAP4_SSL("localhost", $IMAPS_PORT, ssl_context=ctx)
m.login("$IMAP_USER", os.environ["IMAP_PW"])
m.logout()
PY
echo "## closed port"
hyperfine -N -i --warmup 3 --runs 50 --export-markdown "$work/closed.md" \
    -n "imapprobe test-server" "$probe test-server --host 127.0.0.1 --port $closed --tls none" \
    -n "check_imap" "$check_imap -H 127.0.0.1 -p $closed" >/dev/null
cat "$work/closed.md"
echo
echo "## implicit TLS, greeting and capabilities, no login"
hyperfine -N --warmup 3 --runs 50 --export-markdown "$work/tls.md" \
    -n "imapprobe test-server" "$probe test-server --host localhost --port $IMAPS_PORT --tls implicit --ca-file $CA_FILE" \
    -n "check_imap -S" "$check_imap -H localhost -p $IMAPS_PORT -S" \
    -n "openssl s_client" "sh -c 'echo a LOGOUT | openssl s_client -quiet -connect localhost:$IMAPS_PORT -CAfile $CA_FILE -verify_return_error >/dev/null 2>&1'" >/dev/null
cat "$work/tls.md"
echo
echo "## implicit TLS with login"
hyperfine -N --warmup 3 --runs 50 --export-markdown "$work/login.md" \
    -n "imapprobe test-server --user" "$probe test-server --host localhost --port $IMAPS_PORT --tls implicit --ca-file $CA_FILE --user $IMAP_USER --password-env IMAP_PW" \
    -n "python3 imaplib" "python3 $work/imaplib_login.py" >/dev/null
cat "$work/login.md"
