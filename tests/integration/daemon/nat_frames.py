#!/usr/bin/env python3
"""Frames and DHCP messages the NAT network's attack test forges (nothing is sent from here
except by `inject`).

  nat_frames.py dhcp release CHADDR CIADDR SERVER [CLIENT_ID_MAC]   -> hex of the BOOTP message
  nat_frames.py dhcp decline CHADDR REQUESTED SERVER                -> hex of the BOOTP message
  nat_frames.py inject TAP SRC_MAC DST_MAC SRC_IP DST_IP COUNT
      opens host tap TAP (multiqueue: one more queue of it) and writes COUNT ICMP echo
      requests into it, as if a guest behind it sent them.
  nat_frames.py hold TAP
      opens host tap TAP (multiqueue) and holds it open until killed, as a process that kept
      another VM's tap would.
"""
import fcntl
import os
import socket
import struct
import sys
import time

IFF_TAP, IFF_NO_PI, IFF_MULTI_QUEUE, IFF_VNET_HDR = 0x0002, 0x1000, 0x0100, 0x4000
TUNSETIFF = 0x400454CA


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def bootp(chaddr, ciaddr, options):
    msg = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x51AD0001, 0, 0,
                      socket.inet_aton(ciaddr), bytes(4), bytes(4), bytes(4),
                      mac_bytes(chaddr), bytes(64), bytes(128))
    return msg + bytes([99, 130, 83, 99]) + options + bytes([255])


def dhcp(kind, chaddr, addr, server, clid=None):
    server_id = bytes([54, 4]) + socket.inet_aton(server)
    if kind == "release":
        opts = bytes([53, 1, 7]) + server_id
        if clid:
            opts += bytes([61, 7, 1]) + mac_bytes(clid)
        return bootp(chaddr, addr, opts)
    opts = bytes([53, 1, 4]) + server_id + bytes([50, 4]) + socket.inet_aton(addr)
    return bootp(chaddr, "0.0.0.0", opts)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_frame(src_mac, dst_mac, src_ip, dst_ip, seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x51AD, seq) + b"qmd-stray"
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x08\x00" + ip + icmp


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    return fd


def main(argv):
    if argv[1] == "dhcp":
        print(dhcp(argv[2], argv[3], argv[4], argv[5], argv[6] if len(argv) > 6 else None).hex())
    elif argv[1] == "inject":
        fd = open_tap(argv[2])
        for seq in range(int(argv[7])):
            os.write(fd, echo_frame(argv[3], argv[4], argv[5], argv[6], seq + 1))
            time.sleep(0.1)
    elif argv[1] == "hold":
        open_tap(argv[2])
        print("holding", flush=True)
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main(sys.argv)
