#!/usr/bin/env python3
"""The floor for bench/check.sh: how fast the server streams the responses.

Sends the same commands as `imapprobe check` and bench/imaplib_check.py
(LOGIN, LIST "" "*", and per folder EXAMINE, UID SEARCH ALL,
UID FETCH first:last (UID RFC822.SIZE INTERNALDATE FLAGS) per --chunk UIDs,
with --full also UID FETCH n (INTERNALDATE UID BODY.PEEK[]) for every
message) over TLS, pipelined, and throws the answers away. The only parsing:
the LIST and SEARCH answers, and finding each awaited tagged line by
scanning for b"\\r\\n<tag> " (literals are not followed: the tags are chosen
so that message text does not contain them; fine for the generated bulk
mailbox). Per folder, EXAMINE and SEARCH go out together, then all the
metadata chunks at once; the full fetches go out in batches of --batch
commands, the next batch sent before the previous one's answers are read.
Defaults come from local-dovecot --serve-bulk's variables.
"""

import argparse
import os
import re
import socket
import ssl
import time

LIST_LINE = re.compile(rb'^\* LIST \((?P<attrs>[^)]*)\) (?:"(?:[^"\\]|\\.)*"|NIL) (?P<name>.+)$')


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray(1 << 20)
        self.view = memoryview(self.buf)
        # Unread bytes; always starts right after a CRLF (hence the CRLF in
        # front), so a tagged line is always found as CRLF + tag.
        self.pending = bytearray(b"\r\n")
        self.tags = 0
        self.received = 0

    def recv(self):
        n = self.sock.recv_into(self.view)
        if n == 0:
            raise SystemExit("server closed the connection")
        self.received += n
        self.pending += self.view[:n]

    def greeting(self):
        while self.pending.find(b"\r\n", 2) < 0:
            self.recv()
        del self.pending[: self.pending.find(b"\r\n", 2)]

    def send(self, commands):
        """Sends commands at once; returns their tags."""
        tags, out = [], []
        for c in commands:
            self.tags += 1
            tag = b"R%dq" % self.tags
            tags.append(tag)
            out.append(tag + b" " + c + b"\r\n")
        self.sock.sendall(b"".join(out))
        return tags

    def wait(self, tag, keep=False):
        """Reads until the tagged line of `tag`; fails unless OK. Returns
        everything before it (with keep) or None, and drops it."""
        pat = b"\r\n" + tag + b" "
        kept = bytearray()
        data = self.pending
        pos = 0
        while True:
            i = data.find(pat, pos)
            if i >= 0:
                end = data.find(b"\r\n", i + len(pat))
                if end >= 0:
                    status = bytes(data[i + len(pat) : i + len(pat) + 2])
                    if status != b"OK":
                        raise SystemExit(bytes(data[i + 2 : end]).decode("ascii", "replace"))
                    if keep:
                        kept += data[:i]
                    del data[:end]  # keep the CRLF in front
                    return bytes(kept) if keep else None
                pos = i
            else:
                pos = max(0, len(data) - len(pat))
                if pos > 0:
                    if keep:
                        kept += data[:pos]
                    del data[:pos]
                    pos = 0
            self.recv()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--host", default="localhost")
    p.add_argument("--port", type=int, default=int(os.environ.get("IMAPS_PORT", 993)))
    p.add_argument("--ca-file", default=os.environ.get("CA_FILE"))
    p.add_argument("--user", default=os.environ.get("IMAP_USER"))
    p.add_argument("--password-env", default="IMAP_PW")
    p.add_argument("--chunk", type=int, default=500)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--full", action="store_true")
    a = p.parse_args()

    started = time.monotonic()
    ctx = ssl.create_default_context(cafile=a.ca_file)
    raw = socket.create_connection((a.host, a.port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(ctx.wrap_socket(raw, server_hostname=a.host))
    c.greeting()

    def quote(s):
        return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'

    password = os.environ[a.password_env].encode()
    (tag,) = c.send([b"LOGIN " + quote(a.user.encode()) + b" " + quote(password)])
    c.wait(tag)
    (tag,) = c.send([b'LIST "" "*"'])
    folders = []
    for line in c.wait(tag, keep=True).split(b"\r\n"):
        found = LIST_LINE.match(line)
        if found:
            attrs = found.group("attrs").lower().split()
            if b"\\noselect" not in attrs and b"\\nonexistent" not in attrs:
                folders.append(found.group("name"))

    messages = 0
    for name in folders:
        examine, search = c.send([b"EXAMINE " + name, b"UID SEARCH ALL"])
        c.wait(examine)
        uids = []
        for line in c.wait(search, keep=True).split(b"\r\n"):
            if line.startswith(b"* SEARCH"):
                uids.extend(line.split()[2:])
        if not uids:
            continue
        messages += len(uids)
        chunks = [uids[i : i + a.chunk] for i in range(0, len(uids), a.chunk)]
        tags = c.send(
            [b"UID FETCH %s:%s (UID RFC822.SIZE INTERNALDATE FLAGS)" % (k[0], k[-1]) for k in chunks]
        )
        c.wait(tags[-1])
        if a.full:
            batches = [uids[i : i + a.batch] for i in range(0, len(uids), a.batch)]
            previous = None
            for batch in batches:
                tags = c.send([b"UID FETCH %s (INTERNALDATE UID BODY.PEEK[])" % u for u in batch])
                if previous:
                    c.wait(previous)
                previous = tags[-1]
            c.wait(previous)
    c.send([b"LOGOUT"])
    c.sock.close()
    mode = "full" if a.full else "metadata"
    print(
        f"raw {mode}: {len(folders)} folders, {messages} messages, "
        f"{c.received} bytes received, {time.monotonic() - started:.2f} s"
    )


if __name__ == "__main__":
    main()
