#pragma once
// qmctl vnc: a local listener whose every connection is relayed to a VM's VNC server through
// qmd's API (GET /v1/vms/NAME/vnc, upgraded). Raw RFB for VNC viewers, or WebSocket (binary
// frames) for a browser's noVNC. Only this user (and root) may use it: a TCP peer's uid is
// looked up in /proc/net/tcp, a Unix peer's with SO_PEERCRED; a WebSocket client must also
// know the random path printed at start (a web page cannot guess it).
#include <cstdint>
#include <string>

#include "daemon/qmctl/api_client.hpp"

namespace qmd::qmctl {

struct VncRelayOptions {
  std::string vm;
  std::string unix_path;   // set: listen on this Unix socket (0600), else TCP on 127.0.0.1
  std::uint16_t port = 0;  // TCP; 0: a free one
  bool websocket = false;
  bool once = false;       // end after the first session
  bool json = false;       // print where it listens as JSON
};

// Runs until Ctrl-C / SIGTERM (or, with `once`, the first session's end). Exit code.
int run_vnc_relay(const ApiClient& client, const VncRelayOptions& options);

// The uid owning the loopback TCP connection from `peer_port` to `local_port` (IPv4 or
// IPv6 loopback), read from a /proc/net/tcp-format table; -1 when none matches. Pure.
long tcp_peer_uid(const std::string& table, std::uint16_t peer_port, std::uint16_t local_port);

}  // namespace qmd::qmctl
