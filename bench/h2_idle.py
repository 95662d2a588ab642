#!/usr/bin/env python3
"""Idle HTTP/2 connections: memory per connection (issue #13's memory point).

  h2_idle.py --port P --tree PID [--conns 1000] [--more 1000] [--path /index.html]
             [--results F --server NAME --when LABEL]

Opens --conns cleartext HTTP/2 connections to 127.0.0.1:P with prior knowledge (the
server must have `Protocols h2c` / h2c enabled), sends one GET on each (stream 1) and
reads its whole response, then keeps them open and idle. The server's memory (sum of
PSS over its process tree, /proc/PID/smaps_rollup) is read before and after; the growth
divided by the number of connections still open is the cost of an idle HTTP/2
connection. With --more M, M further connections are then opened the same way while the
first ones stay held, and the growth from the first measurement to the second over the
connections added is recorded too (marginal_per_conn_kib): one-off costs paid by the first
connections (a thread pool's first touch of its stacks and per-thread caches) are out of it.
Only 127.0.0.1 is contacted; every wait has a deadline.

The client is written here by hand (no h2 package needed): the preface, an empty
SETTINGS, a SETTINGS ACK once the server's arrives, one HEADERS frame whose block uses
only HPACK static-table entries and one literal (:authority), and a reader that counts
frames until END_STREAM on stream 1.
"""
import argparse
import json
import os
import selectors
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

HOST = "127.0.0.1"
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def request_block(path):
    # :method GET (2), :scheme http (6), :path (4, literal value), :authority (1, literal).
    def lit(index, value):
        v = value.encode()
        return bytes([index]) + bytes([len(v)]) + v

    return b"\x82\x86" + lit(0x04, path) + lit(0x01, HOST)


def opening(path):
    return PREFACE + frame(4, 0, 0) + frame(1, 0x05, 1, request_block(path))


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.done = False
        self.acked = False

    def feed(self, data):
        """Parse frames; answer the server's SETTINGS; True once stream 1 has ended."""
        self.buf += data
        out = b""
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                break
            ftype, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            self.buf = self.buf[9 + length:]
            if ftype == 4 and not flags & 1:
                out += frame(4, 1, 0)
            elif ftype in (0, 1) and stream == 1 and flags & 1:
                self.done = True
            elif ftype == 7:
                raise ConnectionError("GOAWAY")
        if out:
            self.sock.sendall(out)
        return self.done


def hold(port, n, path, timeout):
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(n):
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(opening(path))
        s.setblocking(False)
        c = Conn(s)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)
    deadline = time.time() + timeout
    pending = n
    failed = 0
    while pending and time.time() < deadline:
        for key, _ in sel.select(0.5):
            c = key.data
            try:
                data = c.sock.recv(65536)
                if not data:
                    raise ConnectionError("closed")
                if c.feed(data):
                    sel.unregister(c.sock)
                    pending -= 1
            except BlockingIOError:
                pass
            except OSError:
                sel.unregister(c.sock)
                pending -= 1
                failed += 1
    return conns, failed + pending


def still_open(conns):
    n = 0
    for c in conns:
        try:
            data = c.sock.recv(65536, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            if data and b"\x07" not in data[3:4]:
                n += 1
        except BlockingIOError:
            n += 1
        except OSError:
            pass
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--tree", type=int, required=True, help="the server's main PID")
    ap.add_argument("--conns", type=int, default=1000)
    ap.add_argument("--path", default="/index.html")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--settle", type=float, default=2)
    ap.add_argument("--results")
    ap.add_argument("--server", default="")
    ap.add_argument("--when", default="", help="label: fresh (before any load) or after_load")
    ap.add_argument("--more", type=int, default=0, help="then open this many more, measure again")
    a = ap.parse_args()
    before = benchlib.tree_stats(a.tree)
    conns, failed = hold(a.port, a.conns, a.path, a.timeout)
    time.sleep(a.settle)
    after = benchlib.tree_stats(a.tree)
    held = still_open(conns)
    per_kib = (after["pss_kb"] - before["pss_kb"]) / max(held, 1)
    rec = {
        "kind": "h2_idle",
        "test": "h2_idle",
        "server": a.server,
        "when": a.when,
        "conns": a.conns,
        "failed": failed,
        "held": held,
        "pss_before_kb": before["pss_kb"],
        "pss_after_kb": after["pss_kb"],
        "pss_per_conn_kib": round(per_kib, 2),
        "ts": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if a.more:
        more, failed2 = hold(a.port, a.more, a.path, a.timeout)
        time.sleep(a.settle)
        after2 = benchlib.tree_stats(a.tree)
        held2 = still_open(conns + more)
        added = held2 - held
        rec.update({"more": a.more, "more_failed": failed2, "held_total": held2,
                    "pss_more_kb": after2["pss_kb"],
                    "marginal_per_conn_kib":
                        round((after2["pss_kb"] - after["pss_kb"]) / added, 2) if added > 0 else None})
        conns += more
    for c in conns:
        c.sock.close()
    print(json.dumps(rec))
    if a.results:
        with open(a.results, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
