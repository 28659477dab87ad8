#!/usr/bin/env python3
"""The Python peer of `imapprobe check` for bench/check.sh (stdlib only).

Connects with IMAP4_SSL (verifying against a CA file), logs in, LIST "" "*",
and for each selectable folder: EXAMINE, UID SEARCH ALL, then
UID FETCH first:last (UID RFC822.SIZE INTERNALDATE FLAGS) per chunk of
--chunk UIDs of the search result; with --full also
UID FETCH n (INTERNALDATE UID BODY.PEEK[]) for every message. Counts
messages and bytes and prints one line. Defaults come from the variables
local-dovecot --serve-bulk writes (IMAPS_PORT, CA_FILE, IMAP_USER, IMAP_PW).
"""

import argparse
import imaplib
import os
import re
import ssl
import sys
import time

LIST_LINE = re.compile(rb'^\((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')
SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
LITERAL = re.compile(rb"\{(\d+)\}$")


def folders(m):
    typ, data = m.list('""', "*")
    if typ != "OK":
        raise SystemExit(f"LIST failed: {data!r}")
    names = []
    i = 0
    while i < len(data):
        item = data[i]
        i += 1
        if isinstance(item, tuple):  # the name came as a literal
            head, literal = item
            attrs = LIST_LINE.match(head + b"x").group("attrs")
            name = b"{%d}\r\n" % len(literal) + literal
        elif item is None:
            continue
        else:
            found = LIST_LINE.match(item)
            if not found:
                raise SystemExit(f"cannot parse LIST line {item!r}")
            attrs, name = found.group("attrs"), found.group("name")
        flags = attrs.lower().split()
        if b"\\noselect" in flags or b"\\nonexistent" in flags:
            continue
        names.append(name.decode("ascii", "surrogateescape"))
    return names


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, default=int(os.environ.get("IMAPS_PORT", 993)))
    p.add_argument("--ca-file", default=os.environ.get("CA_FILE"))
    p.add_argument("--user", default=os.environ.get("IMAP_USER"))
    p.add_argument("--password-env", default="IMAP_PW")
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--full", action="store_true")
    a = p.parse_args()

    started = time.monotonic()
    ctx = ssl.create_default_context(cafile=a.ca_file)
    m = imaplib.IMAP4_SSL(a.host, a.port, ssl_context=ctx)
    m.login(a.user, os.environ[a.password_env])
    n_folders = n_messages = size_sum = body_bytes = 0
    for name in folders(m):
        typ, data = m.select(name, readonly=True)  # EXAMINE
        if typ != "OK":
            print(f"EXAMINE {name}: {data!r}", file=sys.stderr)
            continue
        n_folders += 1
        typ, data = m.uid("SEARCH", "ALL")
        uids = data[0].split() if typ == "OK" and data and data[0] else []
        for start in range(0, len(uids), a.chunk):
            chunk = uids[start : start + a.chunk]
            seq = b"%s:%s" % (chunk[0], chunk[-1])
            typ, data = m.uid("FETCH", seq.decode(), "(UID RFC822.SIZE INTERNALDATE FLAGS)")
            if typ != "OK":
                raise SystemExit(f"UID FETCH {seq!r} in {name}: {data!r}")
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                found = line and SIZE.search(line)
                if found:
                    n_messages += 1
                    size_sum += int(found.group(1))
        if a.full:
            for uid in uids:
                typ, data = m.uid("FETCH", uid.decode(), "(INTERNALDATE UID BODY.PEEK[])")
                if typ != "OK":
                    raise SystemExit(f"UID FETCH {uid!r} in {name}: {data!r}")
                for item in data:
                    if isinstance(item, tuple):
                        body_bytes += len(item[1])
    m.logout()
    mode = "full" if a.full else "metadata"
    print(
        f"imaplib {mode}: {n_folders} folders, {n_messages} messages, "
        f"{size_sum} bytes (RFC822.SIZE), {body_bytes} body bytes, "
        f"{time.monotonic() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
