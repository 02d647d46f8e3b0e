#pragma once
// The source's view of the other qmd during a migration: the peer protocol's calls, typed.
// RemoteDestination (remote_destination.hpp) is the real one, over the destination's socket
// or ssh; tests use the one fake in tests/unit/daemon/migration/fake_destination.hpp.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <string>

#include "daemon/migration/peer_protocol.hpp"

namespace qmd::daemon::migration {

// A call to the destination that did not give what was asked for.
struct PeerFailure {
  enum class Kind {
    unreachable,  // no answer: connect, ssh, or the deadline (the words say which)
    refused,      // an HTTP error status; message is the API error's message
    malformed,    // 200, but not what the protocol says
  };
  Kind kind = Kind::unreachable;
  unsigned http_status = 0;  // refused
  std::string message{};
  bool answered() const { return kind != Kind::unreachable; }
};
template <typename T>
using PeerResult = std::expected<T, PeerFailure>;

class DestinationQmd {
 public:
  virtual ~DestinationQmd() = default;

  // The destination as the user named it, for messages.
  virtual const std::string& where() const = 0;
  // Each call costs an ssh session (over the migration's ControlMaster).
  virtual bool over_ssh() const = 0;

  // POST /v1/migrations/incoming: get ready (its QEMU listening), 30 s.
  virtual boost::asio::awaitable<PeerResult<IncomingReady>> prepare(IncomingRequest request) = 0;
  // GET /v1/migrations/incoming/NAME, 10 s.
  virtual boost::asio::awaitable<PeerResult<IncomingStatus>> status(std::string name) = 0;
  // POST /v1/migrations/incoming/NAME/commit: take the VM over, 30 s.
  virtual boost::asio::awaitable<PeerResult<void>> commit(std::string name,
                                                          CommitRequest commit) = 0;
  // DELETE /v1/migrations/incoming/NAME: drop what arrived, 10 s.
  virtual boost::asio::awaitable<PeerResult<void>> drop(std::string name) = 0;
  // The state of GET /v1/vms/NAME, 10 s.
  virtual boost::asio::awaitable<PeerResult<std::string>> vm_state(std::string name) = 0;
};

}  // namespace qmd::daemon::migration
