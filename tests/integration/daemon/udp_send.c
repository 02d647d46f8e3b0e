/* udp_send IPV4 PORT HEX: sends one UDP datagram (the bytes HEX spells) to IPV4:PORT from the
 * address the route picks. For e2e tests that forge DHCP messages inside the test guest,
 * whose busybox has no UDP client: built static with no libc (a few KB, copied in by
 * guest-exec), x86_64 Linux only. Exit 0 when sent. */
#include <stddef.h>

enum { SYS_write = 1, SYS_socket = 41, SYS_sendto = 44, SYS_exit = 60 };

static long sys(long n, long a, long b, long c, long d, long e, long f) {
  long ret;
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static unsigned char buf[1500];

static int run(int argc, char** argv) {
  if (argc != 4) return 2;
  unsigned ip = 0, part = 0, dots = 0;
  for (const char* p = argv[1]; *p; ++p) {
    if (*p == '.') { ip = ip << 8 | part; part = 0; ++dots; }
    else if (*p >= '0' && *p <= '9') part = part * 10 + (unsigned)(*p - '0');
    else return 2;
  }
  ip = ip << 8 | part;
  unsigned port = 0;
  for (const char* p = argv[2]; *p; ++p) port = port * 10 + (unsigned)(*p - '0');
  size_t n = 0;
  for (const char* p = argv[3]; p[0] && p[1] && n < sizeof buf; p += 2) {
    int hi = hexval(p[0]), lo = hexval(p[1]);
    if (hi < 0 || lo < 0) return 2;
    buf[n++] = (unsigned char)(hi << 4 | lo);
  }
  if (dots != 3) return 2;
  struct { unsigned short family, port; unsigned addr; unsigned char zero[8]; } to = {
      2, (unsigned short)((port >> 8) | (port << 8)),
      (ip >> 24) | ((ip >> 8) & 0xff00) | ((ip << 8) & 0xff0000) | (ip << 24), {0}};
  long fd = sys(SYS_socket, 2 /* AF_INET */, 2 /* SOCK_DGRAM */, 0, 0, 0, 0);
  if (fd < 0) return 1;
  return sys(SYS_sendto, fd, (long)buf, (long)n, 0, (long)&to, 16) == (long)n ? 0 : 1;
}

__attribute__((used)) static void start_c(long* sp) {
  int argc = (int)sp[0];
  char** argv = (char**)(sp + 1);
  sys(SYS_exit, run(argc, argv), 0, 0, 0, 0, 0);
}

__asm__(".global _start\n_start:\n  mov %rsp, %rdi\n  and $-16, %rsp\n  call start_c\n");
