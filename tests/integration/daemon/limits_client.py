#!/usr/bin/env python3
"""Hostile API clients for e2e_daemon_limits.sh: each subcommand performs one attack on qmd's
Unix socket and reports what qmd answered. Run as a member of qmd's API group."""
import json
import os
import socket
import sys
import time


def connect(path, timeout=20):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def head_of(s):
    """Status code and the whole head; the bytes after the head are left in the socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(1)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode(errors="replace")
    parts = line.split(" ")
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), data.decode(errors="replace")


def body_of(s, head):
    length = 0
    for line in head.split("\r\n"):
        if line.lower().startswith("content-length:"):
            length = int(line.split(":", 1)[1])
    body = b""
    while len(body) < length:
        chunk = s.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return body.decode(errors="replace")


def request(s, method, target, body=b"", extra=""):
    s.sendall((f"{method} {target} HTTP/1.1\r\nHost: qmd\r\n{extra}"
               f"Content-Length: {len(body)}\r\n\r\n").encode() + body)


def wait_gone(path):
    while os.path.exists(path):
        time.sleep(0.05)


def hold_console(sock, vm, n, out, hold):
    conns, results = [], []
    for _ in range(n):
        s = connect(sock)
        request(s, "GET", f"/v1/vms/{vm}/console", extra="Connection: Upgrade\r\nUpgrade: qmd-console\r\n")
        conns.append(s)
    for s in conns:
        status, head = head_of(s)
        results.append({"status": status, "body": "" if status == 101 else body_of(s, head)})
    with open(out + ".tmp", "w") as f:
        json.dump(results, f)
    os.rename(out + ".tmp", out)
    wait_gone(hold)
    for s in conns:
        s.close()


def churn_follow(sock, total, batch):
    ok = 0
    while ok < total:
        conns = []
        for _ in range(min(batch, total - ok)):
            s = connect(sock)
            request(s, "GET", "/v1/events?follow=true")
            conns.append(s)
        for s in conns:
            status, _ = head_of(s)
            ok += status == 200
            if status != 200:
                print(f"follow answered {status}", file=sys.stderr)
                sys.exit(1)
        for s in conns:
            s.close()  # abandoned: no shutdown, no goodbye
    print(ok)


def hold_follow(sock, n, out, hold):
    conns, statuses, bodies = [], [], []
    for _ in range(n):
        s = connect(sock)
        request(s, "GET", "/v1/events?follow=true")
        status, head = head_of(s)
        statuses.append(status)
        bodies.append("" if status == 200 else body_of(s, head))
        conns.append(s)
    with open(out + ".tmp", "w") as f:
        json.dump({"statuses": statuses, "bodies": bodies}, f)
    os.rename(out + ".tmp", out)
    wait_gone(hold)
    for s in conns:
        s.close()


def stalled_follow(sock, out, hold):
    """Asks to follow, then reads nothing until told; then reads what is there: EOF or not."""
    s = connect(sock)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request(s, "GET", "/v1/events?follow=true")
    open(out, "w").write("sent\n")
    wait_gone(hold)
    s.settimeout(10)
    total, eof = 0, False
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                eof = True
                break
            total += len(chunk)
    except socket.timeout:
        pass
    print(json.dumps({"bytes": total, "eof": eof}))


def malformed(sock, count, size):
    """POST /v1/vms with malformed bodies of about `size` bytes: broken YAML, broken JSON, a
    YAML list where a mapping belongs; each must be a 400."""
    filler = "x" * max(0, size - 64)
    bodies = [
        ("application/yaml", ("metadata: {name: [" + filler).encode()),
        ("application/json", ('{"metadata": {"name": "' + filler + '", ').encode()),
        ("application/yaml", ("- " + filler + "\n- :\n  : [").encode()),
    ]
    tally = {}
    for i in range(count):
        ctype, body = bodies[i % len(bodies)]
        s = connect(sock)
        request(s, "POST", "/v1/vms", body, extra=f"Content-Type: {ctype}\r\n")
        status, head = head_of(s)
        body_of(s, head)
        s.close()
        tally[status] = tally.get(status, 0) + 1
    print(json.dumps(tally))


def fill_backlog(path, out, hold):
    """Connects to a listening socket until its backlog stays full: the listener may still
    take one queued connection off the backlog, so EAGAIN must hold for a second."""
    conns, refused_in_a_row = [], 0
    while len(conns) < 256 and refused_in_a_row < 10:
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(False)
        try:
            s.connect(path)
        except BlockingIOError:
            s.close()
            refused_in_a_row += 1
            time.sleep(0.1)
            continue
        refused_in_a_row = 0
        conns.append(s)
    open(out, "w").write(f"{len(conns)}\n")
    wait_gone(hold)
    for s in conns:
        s.close()


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "hold-console":
        hold_console(args[0], args[1], int(args[2]), args[3], args[4])
    elif cmd == "churn-follow":
        churn_follow(args[0], int(args[1]), int(args[2]))
    elif cmd == "hold-follow":
        hold_follow(args[0], int(args[1]), args[2], args[3])
    elif cmd == "stalled-follow":
        stalled_follow(args[0], args[1], args[2])
    elif cmd == "malformed":
        malformed(args[0], int(args[1]), int(args[2]))
    elif cmd == "fill-backlog":
        fill_backlog(args[0], args[1], args[2])
    else:
        sys.exit(f"unknown command {cmd}")
