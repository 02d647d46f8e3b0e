#!/usr/bin/env python3
"""Frames and DHCP messages the NAT network's attack test forges (nothing is sent from here
except by `inject`).

  nat_frames.py dhcp release CHADDR CIADDR SERVER [CLIENT_ID_MAC]   -> hex of the BOOTP message
  nat_frames.py dhcp decline CHADDR REQUESTED SERVER                -> hex of the BOOTP message
  nat_frames.py inject TAP SRC_MAC DST_MAC SRC_IP DST_IP COUNT
      opens host tap TAP (multiqueue: one more queue of it) and writes COUNT ICMP echo
      requests into it, as if a guest behind it sent them.
  nat_frames.py frame6 SRC_MAC DST_MAC SRC_IP6 DST_IP6 KIND        -> hex of the frame
      an IPv6 frame of KIND: echo (an ICMPv6 echo request), ra (a router advertisement of
      prefix 2001:db8:bad::/64), na:TARGET (a neighbour advertisement that TARGET is at
      SRC_MAC). A guest sends it with frame_send.
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


def icmp6_frame(src_mac, dst_mac, src_ip, dst_ip, icmp):
    src = socket.inet_pton(socket.AF_INET6, src_ip)
    dst = socket.inet_pton(socket.AF_INET6, dst_ip)
    pseudo = src + dst + struct.pack("!I3xB", len(icmp), 58)
    icmp = icmp[:2] + struct.pack("!H", checksum(pseudo + icmp)) + icmp[4:]
    hop_limit = 255 if icmp[0] in (134, 136) else 64  # ND messages need 255
    ip6 = struct.pack("!IHBB", 0x60000000, len(icmp), 58, hop_limit) + src + dst
    return mac_bytes(dst_mac) + mac_bytes(src_mac) + b"\x86\xdd" + ip6 + icmp


def icmp6_message(kind, src_mac, seq):
    if kind == "echo":
        return struct.pack("!BBHHH", 128, 0, 0, 0x51AD, seq) + b"qmd-stray"
    if kind == "ra":
        # Router lifetime 1800 s, M and O off; a prefix information option (on-link,
        # autonomous) for 2001:db8:bad::/64 and the source link-layer address.
        prefix = struct.pack("!BBBBIII16s", 3, 4, 64, 0xC0, 86400, 14400, 0,
                             socket.inet_pton(socket.AF_INET6, "2001:db8:bad::"))
        return (struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + prefix +
                bytes([1, 1]) + mac_bytes(src_mac))
    target = kind.split(":", 1)[1]
    # Solicited off, override on; the target link-layer address option: SRC_MAC.
    return (struct.pack("!BBHI", 136, 0, 0, 0x20000000) +
            socket.inet_pton(socket.AF_INET6, target) + bytes([2, 1]) + mac_bytes(src_mac))


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
    elif argv[1] == "frame6":
        icmp = icmp6_message(argv[6], argv[2], 1)
        print(icmp6_frame(argv[2], argv[3], argv[4], argv[5], icmp).hex())
    elif argv[1] == "hold":
        open_tap(argv[2])
        print("holding", flush=True)
        while True:
            time.sleep(60)


if __name__ == "__main__":
    main(sys.argv)
