#!/usr/bin/env python3
"""Writes the seed inputs of fuzz/corpus/<target>/ (seed-* files) and the dictionaries
of fuzz/dict/. Run by hand when a target or its input format changes; the fuzzers' own
finds are merged into the corpus with `scripts/fuzz.sh --merge`. The x509 seeds are made
with the openssl command-line tool."""

import os
import re
import struct
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def dict_file(target, words):
    d = os.path.join(HERE, "dict")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, target + ".dict"), "w") as f:
        for w in sorted(set(words)):
            esc = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "\\x%02x" % ord(c) for c in w)
            f.write('"%s"\n' % esc)


# --- HTTP requests ------------------------------------------------------------------
REQUESTS = {
    "get": "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n",
    "get-query": "GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\nHost: Example.ORG:8080\r\nUser-Agent: curl/8\r\nAccept: */*\r\n\r\n",
    "get-10": "GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "head-lf": "HEAD /x HTTP/1.1\nHost: a\n\n",
    "blank-lines": "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "options-star": "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "absolute": "GET http://Example.com:81/p?q HTTP/1.1\r\nHost: other\r\n\r\n",
    "connect": "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "ipv6": "GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n",
    "post-cl": "POST /form HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
    "post-chunked": "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "expect": "PUT /f HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc",
    "close": "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, TE\r\nTE: trailers\r\n\r\n",
    "cl-te": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "two-hosts": "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "no-host-11": "GET / HTTP/1.1\r\n\r\n",
    "fold": "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n",
    "http2": "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "http09": "GET /\r\n",
    "obs-text": "GET /\xe9 HTTP/1.1\r\nHost: a\r\nX-Y: caf\xe9\t \r\n\r\n",
}
for i, (name, req) in enumerate(REQUESTS.items()):
    put("h1_request", name, bytes([i % 4]) + req.encode("latin-1"))
# HttpProtocolOptions: 0x10 = Unsafe, 0x20 = Allow0.9 (fuzz/src/lib.rs request_limits).
UNSAFE = {
    "unsafe-spaces": (0x10, "GET  /a\tHTTP/1.1 \r\nHost : a\r\n\r\n"),
    "unsafe-lower": (0x11, "GET http://u@h/a#f http/1.0\r\n\r\n"),
    "allow09": (0x20, "GET /x?y\r\n"),
    "allow09-unsafe": (0x30, "GET\t/x  \r\n"),
}
for name, (sel, req) in UNSAFE.items():
    put("h1_request", name, bytes([sel]) + req.encode("latin-1"))

# The connection: 4 control bytes, then a pipelined stream.
PIPELINES = {
    "pipeline": REQUESTS["get"] + REQUESTS["post-cl"] + REQUESTS["post-chunked"] + REQUESTS["get-10"],
    "expect-body": REQUESTS["expect"] + REQUESTS["get"],
    "chunk-trailers": "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
    "close-then-more": REQUESTS["close"] + REQUESTS["get"],
    "bad-second": REQUESTS["get"] + "GET  / HTTP/1.1\r\n\r\n",
    "too-large": "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n" + "x" * 40,
}
for i, (name, s) in enumerate(PIPELINES.items()):
    put("h1_conn", name, bytes([i % 4, i, 3 + i, 7 * i]) + s.encode("latin-1"))
dict_file("h1_request", [
    "GET", "HEAD", "POST", "PUT", "OPTIONS", "CONNECT", "TRACE", "DELETE", "PRI", " HTTP/1.1\r\n",
    " HTTP/1.0\r\n", "HTTP/2.0", "\r\n", "\r\n\r\n", "Host: ", "Content-Length: ",
    "Transfer-Encoding: ", "chunked", "gzip", "identity", "Expect: ", "100-continue",
    "Connection: ", "close", "keep-alive", "Upgrade", "http://", "https://", "*", "?", "%2F",
    "[::1]", ":8080", "0\r\n\r\n",
])
with open(os.path.join(HERE, "dict", "h1_request.dict")) as f:
    h1_dict = f.read()
with open(os.path.join(HERE, "dict", "h1_conn.dict"), "w") as f:
    f.write(h1_dict)

# --- bodies ---------------------------------------------------------------------------
BODIES = {
    "chunked": (0, "5\r\nhello\r\n0\r\n\r\n"),
    "chunked-ext": (1, "3;name=\"v,a\";flag\r\nabc\r\n1A \r\n" + "z" * 26 + "\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\nrest"),
    "chunked-lf": (2, "2\nab\n0\n\n"),
    "chunked-big": (3, "FFFFFFFFFFFFFFFF\r\n"),
    "chunked-limit": (0x43, "40\r\n" + "y" * 64 + "\r\n1\r\nz\r\n0\r\n\r\n"),
    "until-close": (5, "everything until the end"),
    "length": (6, "0123456789"),
    "length-half": (7, "abcdefgh"),
}
for name, (ctl, body) in BODIES.items():
    put("chunked", name, bytes([ctl, 5]) + body.encode())
dict_file("chunked", ["\r\n", "0\r\n\r\n", ";", "=", "\"", "FFFFFFFF", "Trailer: ", "Content-Length: "])

# --- ranges ---------------------------------------------------------------------------
RANGES = [
    (100, 0x83, "bytes=0-4"),
    (100, 0xc3, "bytes=0-4,10-19,-5"),
    (100, 0x02, "bytes=-0"),
    (100, 0x83, "bytes=50-"),
    (100, 0x83, "bytes=0-,5-6"),
    (10, 0x83, "bytes=5-1"),
    (10, 0x9b, "bytes=1-2,0-3,2-5,8-9,7-7"),
    (1000, 0x85, "BYTES= 1-2 , ,3-4"),
    (7, 0x83, "bytes=200-300"),
    (2**63, 0xc5, "bytes=9223372036854775806-,-9223372036854775807"),
    (50, 0x84, "bytes=" + ",".join("%d-%d" % (i, i) for i in range(0, 50, 2))),
]
for i, (length, sel, hdr) in enumerate(RANGES):
    put("range", "r%02d" % i, struct.pack("<Q", length) + bytes([sel]) + hdr.encode())
dict_file("range", ["bytes=", "-", ",", "0-", "-1", "9223372036854775807", "18446744073709551615"])

# --- configuration ---------------------------------------------------------------------
for name in ("default.conf", "tls-example.conf"):
    with open(os.path.join(ROOT, "conf", name), "rb") as f:
        put("config", name.replace(".conf", ""), f.read())
CONFIGS = {
    "sections": """ServerName a.example
Listen 8080
<VirtualHost *:8080>
    ServerName b.example
    DocumentRoot "/srv/b"
    <Directory "/srv/b">
        Options -Indexes +FollowSymLinks
        Require ip 127.0.0.1 ::1
    </Directory>
    <LocationMatch "^/api/(?<name>[a-z]+)">
        Require all granted
    </LocationMatch>
</VirtualHost>
""",
    "ifs": """<IfModule mod_status.c>
  ExtendedStatus On
</IfModule>
<IfModule !cgi_module>
  Define NOCGI
</IfModule>
<IfDefine FUZZ>
  <IfDefine !NOCGI>
    ServerAdmin x@y
  </IfDefine>
</IfDefine>
LoadModule cgi_module modules/mod_cgi.so
LoadModule cgi_module modules/mod_cgi.so
""",
    "quotes": """LogFormat "%h \\"%r\\" %>s" q
ErrorDocument 404 'Not \\'here\\''
Alias /x\\\\y "/a b/c"
KeepAlive \\
    On
# comment \\
Timeout 30
""",
    "errors": """<Directory /a>
Listen 80
</Directory>
</VirtualHost>
<Files
NoSuchDirective x
KeepAlive Maybe
""",
    "vars": "ServerName ${UNSET}\nDocumentRoot ${FUZZ}/x\n",
}
for name, text in CONFIGS.items():
    put("config", name, text)
words = set()
for fn in os.listdir(os.path.join(ROOT, "src", "conf", "tables")):
    with open(os.path.join(ROOT, "src", "conf", "tables", fn)) as f:
        words.update(re.findall(r'"([A-Z][A-Za-z0-9]+|[a-z0-9_]+_module|mod_[a-z0-9_]+\.c)"', f.read()))
dict_file("config", sorted(words) + ["<", "</", ">", "\\\n", "${", "}", "\"", "'", "#",
                                     "<IfModule ", "<IfDefine ", "<IfFile ", "<IfDirective ", "<IfSection ", "<IfVersion ", "</IfVersion>", ">= 2.4>", "<VirtualHost ", "<Directory ",
                                     " On", " Off", "!"])

# --- FastCGI ----------------------------------------------------------------------------
def rec(kind, content, pad=None, version=1):
    if pad is None:
        pad = (8 - len(content) % 8) % 8
    return struct.pack(">BBHHBB", version, kind, 1, len(content), pad, 0) + content + b"\0" * pad


END = rec(3, b"\0\0\0\0\0\0\0\0")
FCGI = {
    "simple": rec(6, b"Content-Type: text/html\r\n\r\n<p>hi</p>") + rec(6, b"") + END,
    "status": rec(6, b"Status: 404 Not Found\r\nX-A: 1\r\n\r\n") + rec(6, b"gone") + END,
    "stderr": rec(7, b"PHP Warning: x\nline 2\n") + rec(6, b"Location: /else\n\n") + END,
    "split-head": rec(6, b"Content-Ty") + rec(6, b"pe: text/plain\r") + rec(6, b"\n\r\nbody") + rec(6, b"more") + END,
    "no-end": rec(6, b"Content-Type: a/b\n\nxyz"),
    "bad-header": rec(6, b"Bad header line\r\n\r\n") + END,
    "end-first": END + rec(6, b"X: y\r\n\r\n"),
    "other-types": rec(9, b"\0\0\0\0") + rec(11, b"?") + rec(6, b"X: 1\n\n", pad=255) + END,
    "bad-version": rec(6, b"X: 1\n\n", version=2),
}
for name, data in FCGI.items():
    put("fcgi_response", name, data)

# --- mod_ssl strings --------------------------------------------------------------------
SSL = [
    (3, "HIGH:!aNULL:!MD5", "", "all -SSLv3"),
    (1, "ECDHE+AESGCM:ECDHE+CHACHA20", "", "TLSv1.2"),
    (3, "DEFAULT:@STRENGTH", "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256", "-all +TLSv1.3"),
    (3, "SUITEB128", "TLS_AES_128_GCM_SHA256", "+TLSv1.2 +TLSv1.3"),
    (1, "RC4-SHA:DHE-RSA-AES128-GCM-SHA256", "TLS_AES_128_CCM_SHA256", "SSLv3 TLSv1 TLSv1.1"),
    (2, "ALL:-ECDSA:+kRSA:COMPLEMENTOFALL", "bogus,TLS_AES_128_GCM_SHA256;x", "SSLv2"),
    (3, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:!SHA1:@SECLEVEL=2", "", "all"),
    (7, "eNULL:aNULL", "", ""),
]
for i, (ctl, t12, t13, proto) in enumerate(SSL):
    put("ssl_cipher", "s%02d" % i, bytes([ctl]) + ("%s\0%s\0%s" % (t12, t13, proto)).encode())
dict_file("ssl_cipher", ["HIGH", "MEDIUM", "LOW", "ALL", "DEFAULT", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT",
                         "aNULL", "eNULL", "ECDHE", "ECDSA", "RSA", "kRSA", "aRSA", "AESGCM", "AES128", "AES256",
                         "CHACHA20", "SHA256", "SHA384", "TLSv1.2", "TLSv1.3", "SSLv3", "@STRENGTH",
                         "@SECLEVEL=", "!", "+", "-", ":", "SUITEB128", "SUITEB192",
                         "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                         "all", "\0"])

# --- mod_expires codes, mod_headers formats and lines -----------------------------------
METADATA = [
    (0, "access plus 1 month 2 days"),
    (0, "modification plus 5 hours 3 minutes 10 seconds"),
    (0, "A2592000"),
    (0, "M-100"),
    (0, "now 1 year 2 weeks"),
    (1, "max-age=%{AGE}e, %t %D 100%% \\t\\n"),
    (1, "%{SSL_PROTOCOL}s %{X"),
    (2, "set\0X-A:\0v\0env=!FOO"),
    (2, "always\0edit*\0Set-Cookie\0^(.*)$\0$1; Secure"),
    (2 | 4, "unset\0Cookie\0early"),
    (2, "echo\0^X-\0expr=true"),
]
for i, (ctl, text) in enumerate(METADATA):
    put("metadata", "m%02d" % i, bytes([ctl]) + text.encode().decode("unicode_escape").encode())
dict_file("metadata", ["access", "modification", "now", "plus", "years", "months", "weeks", "days",
                       "hours", "minutes", "seconds", "%t", "%D", "%{", "}e", "}s", "%%", "\\",
                       "set", "setifempty", "add", "append", "merge", "unset", "echo", "edit", "edit*",
                       "note", "always", "onsuccess", "early", "env=", "env=!", "expr=", "\0"])

# --- HTTP/2 frames ---------------------------------------------------------------------
def h2(kind, flags, stream, payload=b""):
    """One frame: 24-bit length, type, flags, stream (RFC 9113 4.1)."""
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def h2_settings(*pairs, ack=False):
    return h2(4, 1 if ack else 0, 0, b"".join(struct.pack(">HI", i, v) for i, v in pairs))


GET_BLOCK = bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff")  # RFC 7541 C.4.1
END_STREAM, END_HEADERS, PADDED, PRIORITY = 0x1, 0x4, 0x8, 0x20
# Control byte (SETTINGS_MAX_FRAME_SIZE: 0 = 16384, 1 = 2^24-1, 2 = ctl >> 2, 3 = 1000),
# cut seed, frames.
H2_FRAMES = {
    "client-start": (0, 1, h2_settings((3, 100), (4, 1 << 20), (2, 0), (0x99, 7))
                     + h2(8, 0, 0, struct.pack(">I", 15 << 20))
                     + h2(1, END_STREAM | END_HEADERS, 1, GET_BLOCK) + h2_settings(ack=True)),
    "padded-priority": (0, 2, h2(1, PADDED | PRIORITY, 3, b"\x02" + struct.pack(">IB", 0x80000001, 15)
                                 + GET_BLOCK[:5] + b"\0\0")
                        + h2(9, END_HEADERS, 3, GET_BLOCK[5:])
                        + h2(0, PADDED, 3, b"\x03abc\0\0\0") + h2(0, END_STREAM, 3, b"")),
    "control": (1, 3, h2(6, 0, 0, b"01234567") + h2(6, 1, 0, b"01234567")
                + h2(2, 0, 5, struct.pack(">IB", 3, 200)) + h2(3, 0, 5, struct.pack(">I", 8))
                + h2(8, 0, 5, struct.pack(">I", 1)) + h2(7, 0, 0, struct.pack(">II", 5, 0) + b"bye")),
    "push-unknown": (0, 4, h2(5, PADDED, 1, b"\x01" + struct.pack(">I", 2) + GET_BLOCK[:3] + b"\0")
                     + h2(9, END_HEADERS, 1, GET_BLOCK[3:]) + h2(0x10, 0xff, 0, b"extension")),
    "stream-errors": (0, 5, h2(2, 0, 7, b"\0\0\0\x01") + h2(8, 0, 9, b"\0\0\0\0")
                      + h2(0, 0, 0, b"DATA on stream 0")),
    "small-limit": (2 | 16 << 2, 6, h2(0, 0, 1, b"0123456789abcdef") + h2(0, 0, 1, b"x" * 17)),
    "bad-settings": (3, 7, h2_settings((5, 16383)) + h2_settings((4, 1 << 31)) + h2_settings((2, 2))),
}
for name, (ctl, seed, frames) in H2_FRAMES.items():
    put("h2_frame", name, bytes([ctl, seed]) + frames)

# --- certificates -----------------------------------------------------------------------
CERTS = {
    "rsa-san": ["-newkey", "rsa:1024", "-subj", "/C=DE/ST=Berlin/O=Ex Co/OU=Web/CN=www.example.org/emailAddress=a@example.org",
                "-addext", "subjectAltName=DNS:www.example.org,DNS:*.example.org,email:b@example.org,IP:127.0.0.1"],
    "ec": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-subj", "/CN=ec.example/O=\u00c9cole"],
    "ed25519": ["-newkey", "ed25519", "-subj", "/CN=ed/serialNumber=42/DC=example/DC=org"],
    "multi-rdn": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384", "-multivalue-rdn",
                  "-subj", "/CN=a+UID=b/O=x, y/L=\\+plus"],
}
with tempfile.TemporaryDirectory() as tmp:
    for name, args in CERTS.items():
        der = os.path.join(tmp, name + ".der")
        subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", "-keyout", os.path.join(tmp, "k"),
                        "-outform", "DER", "-out", der, "-set_serial", "-1234567" if name == "ec" else "0x0102030405060708090a0b0c0d0e0f10"]
                       + args, check=True, capture_output=True)
        with open(der, "rb") as f:
            put("x509", name, f.read())
