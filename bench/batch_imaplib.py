"""The Python peers of bench/batch.sh: every row of a migration CSV logged
in with imaplib (IMAP4_SSL, LOGIN, LOGOUT), one after the other or on a
thread pool. Prints how many logins succeeded to stderr.

usage: batch_imaplib.py CSV PORT CA_FILE THREADS   (THREADS 1: a plain loop)
"""
import concurrent.futures
import csv
import imaplib
import ssl
import sys

path, port, ca, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)
with open(path, newline="", encoding="utf-8-sig") as f:
    rows = [(r["UserName"], r["Password"]) for r in csv.DictReader(f)]


def login(row):
    user, password = row
    try:
        m = imaplib.IMAP4_SSL("localhost", port, ssl_context=ctx)
        m.login(user, password)
        m.logout()
        return True
    except Exception as e:  # a failed row must not stop the others
        print(f"{user}: {e}", file=sys.stderr)
        return False


if threads == 1:
    ok = sum(login(r) for r in rows)
else:
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        ok = sum(pool.map(login, rows))
print(f"{ok}/{len(rows)} logins", file=sys.stderr)
