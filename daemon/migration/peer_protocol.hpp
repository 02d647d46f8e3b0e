#pragma once
// What two qmd say to each other during a live migration, as types. Both ends use these
// structs and the one serializer and parser in peer_protocol.cpp; nothing else in qmd builds or
// searches the peer's JSON. The peer is untrusted: every parser caps the body, the nesting and
// each field, and says in words what it refused (never quoting a value: a spec may hold a
// password).
//
//   source                                      destination
//   POST /v1/migrations/incoming  IncomingRequest  -> 201 IncomingReady
//   GET  /v1/migrations/incoming/NAME              -> 200 IncomingStatus
//   POST /v1/migrations/incoming/NAME/commit CommitRequest -> 200 (the VM's details)
//   DELETE /v1/migrations/incoming/NAME            -> 204
//   GET  /v1/vms/NAME                              -> 200 (the VM's details: its state)
//   GET  /v1/host                                  -> 200 (qmd's host document)
#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::daemon::migration {

// What the peer sent that qmd does not take, in words that name the field.
struct PeerError {
  std::string message{};
};
template <typename T>
using Parsed = std::expected<T, PeerError>;

// A local disk copied with the migration (copyStorage): made on the destination, filled over NBD.
struct CopyDisk {
  std::string name{};      // the spec's disk name: QEMU's format node is fmt-NAME
  std::string path{};      // the image on the destination
  std::string format{};    // raw|qcow2
  std::uint64_t size = 0;  // virtual size, bytes
  bool operator==(const CopyDisk&) const = default;
};

// Where the destination's NBD server listens (a QMP SocketAddress).
struct NbdAddress {
  enum class Kind { unix_socket, inet };
  Kind kind = Kind::unix_socket;
  std::string path{};  // unix
  std::string host{};  // inet
  std::string port{};  // inet, digits (QMP's InetSocketAddress takes a string)
  bool operator==(const NbdAddress&) const = default;
};

// POST /v1/migrations/incoming: the source asks the destination to get ready.
struct IncomingRequest {
  std::string spec_text{};
  std::string uuid{};                            // the source's, so -uuid stays the same
  std::string machine_type{};                    // the source's resolved one (pc-q35-7.2)
  std::optional<std::uint64_t> tsc_frequency{};  // the source's pinned TSC frequency, Hz
  std::optional<std::string> nvram{};            // VARS bytes (base64 on the wire)
  std::vector<std::string> capabilities{};       // besides "events": postcopy-ram, multifd
  std::uint32_t multifd_channels = 0;
  std::string source{};  // who sends, for events (HOST:NAME)
  // How the stream comes: "unix" (same host), "tcp" (migration.address), or "auto": unix when
  // the source's boot id is this host's.
  std::string transport = "auto";
  std::string boot_id{};
  bool tls = false;               // the source has migration.tls: a stream over tcp must be TLS
  std::vector<CopyDisk> disks{};  // copyStorage: made here, filled over NBD
  std::chrono::seconds arrive_within{60};
  std::chrono::seconds finish_within{900};
  bool operator==(const IncomingRequest&) const = default;
};

// 201 to IncomingRequest: where the destination's QEMU listens.
struct IncomingReady {
  std::string name{};
  std::string uri{};  // unix:PATH or tcp:HOST:PORT; it goes to the source's QEMU as is
  bool tls = false;
  std::optional<NbdAddress> nbd{};  // copyStorage: the NBD server
  bool operator==(const IncomingReady&) const = default;
};

// 200 to GET /v1/migrations/incoming/NAME: the destination's view of the transfer.
struct IncomingStatus {
  std::string name{};
  std::string state{};  // the VM's state there (migrating while it arrives)
  bool incoming = false;
  // QEMU's migration status there ("active" while it loads), "waiting" before the stream
  // came, "gone" when QEMU is.
  std::string status{};
  bool operator==(const IncomingStatus&) const = default;
};

// POST /v1/migrations/incoming/NAME/commit: take the VM over.
struct CommitRequest {
  bool resume = true;  // run the guest there (it ran here); false: it arrives paused
  bool operator==(const CommitRequest&) const = default;
};

// Caps on what a peer may send. The HTTP layer caps whole bodies first; these hold for every
// caller of the parsers.
inline constexpr std::size_t kMaxRequestBytes = 8 << 20;  // the incoming request (spec + VARS)
inline constexpr std::size_t kMaxReplyBytes = 8 << 20;    // what the source reads back
inline constexpr std::size_t kMaxFieldBytes = 4096;       // a name, a uri, a path, a status
inline constexpr std::size_t kMaxDisks = 64;
inline constexpr std::size_t kMaxCapabilities = 8;
inline constexpr std::size_t kMaxErrorChars = 2048;  // a peer's error, in our messages

// --- serializers: the body each message travels as.
std::string to_body(const IncomingRequest& request);
std::string to_body(const IncomingReady& ready);
std::string to_body(const IncomingStatus& status);
std::string to_body(const CommitRequest& commit);

// --- parsers. The destination's (requests) refuse unknown fields, as every API body; the
// source's (replies) ignore them, so that a newer destination may add some.
Parsed<IncomingRequest> parse_incoming_request(std::string_view body);
Parsed<CommitRequest> parse_commit_request(std::string_view body);
Parsed<IncomingReady> parse_incoming_ready(std::string_view body, bool expect_nbd);
Parsed<IncomingStatus> parse_incoming_status(std::string_view body);
// The "state" of GET /v1/vms/NAME's reply.
Parsed<std::string> parse_vm_state(std::string_view body);
// Whether a GET /v1/host reply is qmd's host document (hostname, machine_types, qemu.version).
bool is_qmd_host_document(std::string_view body);
// The message of an API error body ({"error":{"message":...}}), else "HTTP STATUS: BODY";
// at most kMaxErrorChars, control characters replaced.
std::string error_message(unsigned http_status, std::string_view body);

}  // namespace qmd::daemon::migration
