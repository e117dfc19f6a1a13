"""A minimal FastCGI client (responder role, one request per connection, as nginx does by
default): the benchmark's way to call a resident ``mapserv`` directly, without a front.

Protocol: https://fastcgi-archives.github.io/FastCGI_Specification.html (records of an
8-byte header; BEGIN_REQUEST, PARAMS, STDIN; answered by STDOUT/STDERR and END_REQUEST).
"""

from __future__ import annotations

import socket
import struct

_BEGIN, _END, _PARAMS, _STDIN, _STDOUT, _STDERR = 1, 3, 4, 5, 6, 7
_RESPONDER = 1
_HEADER = struct.Struct(">BBHHBx")


def _record(kind: int, body: bytes, request_id: int = 1) -> bytes:
    return _HEADER.pack(1, kind, request_id, len(body), 0) + body


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _params(params: dict[str, str]) -> bytes:
    out = bytearray()
    for key, value in params.items():
        k, v = key.encode(), value.encode()
        out += _length(len(k)) + _length(len(v)) + k + v
    return bytes(out)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("FastCGI server closed the connection")
        buf += chunk
    return bytes(buf)


def get(host: str, port: int, script: str, query: str, *, unix: str | None = None
        ) -> tuple[dict[str, str], bytes]:
    """One GET request: (CGI response headers, body); ``unix``: a Unix socket's path instead
    of host and port."""
    params = {"GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "GET",
              "SCRIPT_NAME": script, "REQUEST_URI": f"{script}?{query}",
              "QUERY_STRING": query, "CONTENT_LENGTH": "0", "SERVER_PROTOCOL": "HTTP/1.1",
              "SERVER_NAME": host, "SERVER_PORT": str(port), "REMOTE_ADDR": "127.0.0.1"}
    body = _params(params)
    message = (_record(_BEGIN, struct.pack(">HB5x", _RESPONDER, 0))
               + b"".join(_record(_PARAMS, body[i:i + 65535])
                          for i in range(0, len(body), 65535))
               + _record(_PARAMS, b"") + _record(_STDIN, b""))
    out = bytearray()
    if unix is not None:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(unix)
    else:
        conn = socket.create_connection((host, port))
    with conn as sock:
        sock.sendall(message)
        while True:
            _, kind, _, length, padding = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
            content = _recv_exact(sock, length + padding)[:length]
            if kind == _STDOUT:
                out += content
            elif kind == _END:
                break
            elif kind != _STDERR:
                raise ConnectionError(f"unexpected FastCGI record type {kind}")
    head, _, payload = bytes(out).partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")
                   if ": " in line)
    return headers, payload
