#!/usr/bin/env python3
"""A small RFB (VNC) client for the screen tests: the handshake up to ServerInit, and
optionally one full framebuffer update in raw encoding.

  vnc_client.py tcp HOST PORT [--update]
  vnc_client.py unix PATH [--update]
  vnc_client.py ws HOST PORT PATH [--update]      (RFC 6455 client, binary frames)
  vnc_client.py qmd SOCKET VM [--update]          (qmd's API upgrade, as qmctl vnc does)

Prints "WIDTHxHEIGHT NAME" (and with --update "nonblack=N" for the pixels that are not 0).
Exits 1 with a message when the server does not speak RFB as expected."""
import base64
import os
import socket
import struct
import sys

TIMEOUT = 20


class Raw:
    def __init__(self, sock, early=b""):
        self.sock = sock
        self.buf = early

    def send(self, data):
        self.sock.sendall(data)

    def _more(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buf += chunk

    def recv_exact(self, n):
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class WebSocket(Raw):
    """Client side of RFC 6455: masked binary frames out, unmasked frames in."""

    def __init__(self, sock, host, port, path):
        super().__init__(sock)
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n"
                      ).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise EOFError("closed during the WebSocket handshake")
            head += chunk
        head, rest = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status:
            raise EOFError("WebSocket handshake refused: " + head.decode(errors="replace"))
        if b"sec-websocket-protocol: binary" not in head.lower():
            raise EOFError("the server did not choose the binary subprotocol")
        self.frames = rest
        self.buf = b""

    def send(self, data):
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x82])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(head + mask + masked)

    def _frame_bytes(self, n):
        while len(self.frames) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the server closed the connection")
            self.frames += chunk
        out, self.frames = self.frames[:n], self.frames[n:]
        return out

    def _more(self):
        b0, b1 = self._frame_bytes(2)
        opcode = b0 & 0x0F
        if b1 & 0x80:
            raise EOFError("a server frame was masked")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._frame_bytes(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._frame_bytes(8))[0]
        payload = self._frame_bytes(n)
        if opcode == 0x8:
            raise EOFError("the server closed the WebSocket")
        if opcode == 0x9:  # ping
            mask = os.urandom(4)
            self.sock.sendall(bytes([0x8A, 0x80 | len(payload)]) + mask +
                              bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            return
        if opcode == 0x1:
            raise EOFError("the server sent a text frame")
        self.buf += payload


def qmd_upgrade(path, vm):
    sock = socket.socket(socket.AF_UNIX)
    sock.settimeout(TIMEOUT)
    sock.connect(path)
    sock.sendall((f"GET /v1/vms/{vm}/vnc HTTP/1.1\r\nHost: qmd\r\nConnection: Upgrade\r\n"
                  "Upgrade: qmd-vnc\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError("qmd closed the connection: " + head.decode(errors="replace"))
        head += chunk
    head, rest = head.split(b"\r\n\r\n", 1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise EOFError("qmd refused: " + (head + b"\n" + rest).decode(errors="replace"))
    return Raw(sock, rest)


def connect(argv):
    kind = argv[0]
    if kind == "tcp":
        sock = socket.create_connection((argv[1], int(argv[2])), timeout=TIMEOUT)
        return Raw(sock)
    if kind == "unix":
        sock = socket.socket(socket.AF_UNIX)
        sock.settimeout(TIMEOUT)
        sock.connect(argv[1])
        return Raw(sock)
    if kind == "ws":
        sock = socket.create_connection((argv[1], int(argv[2])), timeout=TIMEOUT)
        return WebSocket(sock, argv[1], argv[2], argv[3])
    if kind == "qmd":
        return qmd_upgrade(argv[1], argv[2])
    raise SystemExit("unknown kind " + kind)


def handshake(conn):
    version = conn.recv_exact(12)
    if not version.startswith(b"RFB 003."):
        raise EOFError(f"not an RFB server: {version!r}")
    conn.send(b"RFB 003.008\n")
    count = conn.recv_exact(1)[0]
    types = conn.recv_exact(count)
    if 1 not in types:
        raise EOFError(f"no 'None' security type offered: {list(types)}")
    conn.send(bytes([1]))
    if struct.unpack(">I", conn.recv_exact(4))[0] != 0:
        raise EOFError("security handshake failed")
    conn.send(bytes([1]))  # ClientInit: shared
    width, height = struct.unpack(">HH", conn.recv_exact(4))
    pixel_format = conn.recv_exact(16)
    name_len = struct.unpack(">I", conn.recv_exact(4))[0]
    name = conn.recv_exact(name_len).decode(errors="replace")
    return width, height, pixel_format[0], name


def full_update(conn, width, height, bpp):
    conn.send(struct.pack(">BBHi", 2, 0, 1, 0))  # SetEncodings: raw only
    conn.send(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    while True:
        kind = conn.recv_exact(1)[0]
        if kind == 0:
            break
        if kind == 2:  # bell
            continue
        raise EOFError(f"unexpected server message {kind}")
    _, rects = struct.unpack(">BH", conn.recv_exact(3))
    nonblack = 0
    covered = 0
    for _ in range(rects):
        x, y, w, h, enc = struct.unpack(">HHHHi", conn.recv_exact(12))
        if enc != 0:
            raise EOFError(f"encoding {enc} though only raw was asked for")
        data = conn.recv_exact(w * h * bpp // 8)
        step = bpp // 8
        nonblack += sum(1 for i in range(0, len(data), step) if any(data[i:i + step]))
        covered += w * h
    return nonblack, covered


def main():
    args = [a for a in sys.argv[1:] if a != "--update"]
    try:
        conn = connect(args)
        width, height, bpp, name = handshake(conn)
        line = f"{width}x{height} {name}"
        if "--update" in sys.argv:
            nonblack, covered = full_update(conn, width, height, bpp)
            line += f" nonblack={nonblack} covered={covered}"
        print(line)
    except (EOFError, OSError) as error:
        print(f"vnc_client: {error}", file=sys.stderr)
        sys.exit(1)


main()
