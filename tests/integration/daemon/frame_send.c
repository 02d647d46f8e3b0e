// frame_send IFACE HEX [COUNT]: sends the Ethernet frame HEX out of IFACE COUNT times (1 by
// default) through a packet socket, as a guest that forges frames would. Built on the host
// by the IPv6 network test and copied into the test guest (its glibc is the host's).
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: frame_send IFACE HEX [COUNT]\n");
    return 2;
  }
  unsigned char frame[1514];
  size_t len = strlen(argv[2]) / 2;
  if (len > sizeof frame || len < 14) {
    fprintf(stderr, "frame_send: a frame is 14 to 1514 bytes\n");
    return 2;
  }
  for (size_t i = 0; i < len; ++i) {
    unsigned byte = 0;
    if (sscanf(argv[2] + 2 * i, "%2x", &byte) != 1) {
      fprintf(stderr, "frame_send: not hex at %zu\n", 2 * i);
      return 2;
    }
    frame[i] = (unsigned char)byte;
  }
  int fd = socket(AF_PACKET, SOCK_RAW, 0);
  if (fd < 0) {
    perror("frame_send: socket");
    return 1;
  }
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = (int)if_nametoindex(argv[1]);
  to.sll_halen = 6;
  memcpy(to.sll_addr, frame, 6);
  int count = argc > 3 ? atoi(argv[3]) : 1;
  for (int i = 0; i < count; ++i) {
    if (sendto(fd, frame, len, 0, (struct sockaddr*)&to, sizeof to) != (ssize_t)len) {
      perror("frame_send: sendto");
      return 1;
    }
    usleep(100000);
  }
  close(fd);
  return 0;
}
