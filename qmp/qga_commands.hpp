#pragma once
// Typed helpers over QgaClient for the agent commands qmd uses.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qmp/qga_client.hpp"

namespace qmd::qmp {

using namespace std::chrono_literals;

struct GuestInfo {
  std::string version;                        // qemu-ga's own version
  std::vector<std::string> enabled_commands;  // in the agent's order
  bool operator==(const GuestInfo&) const = default;
};

// guest-get-osinfo; every field is optional in the protocol, absent ones stay empty.
struct GuestOsInfo {
  std::string kernel_release;
  std::string kernel_version;
  std::string machine;
  std::string id;
  std::string name;
  std::string pretty_name;
  std::string version;
  std::string version_id;
  bool operator==(const GuestOsInfo&) const = default;
};

struct GuestExecResult {
  std::int64_t exit_code = 0;
  std::optional<std::int64_t> signal;  // set when the process was killed by one
  std::string out;                     // decoded stdout
  std::string err;                     // decoded stderr
  bool truncated = false;              // the agent cut the captured output
  bool operator==(const GuestExecResult&) const = default;
};

template <typename T>
using QgaTyped = std::expected<T, QmpError>;

// Short by default: a ping is how a caller asks "is the agent there at all".
asio::awaitable<QgaDone> guest_ping(QgaClient& client, std::chrono::milliseconds timeout = 5s);
asio::awaitable<QgaTyped<GuestInfo>> guest_info(QgaClient& client);
asio::awaitable<QgaTyped<GuestOsInfo>> guest_get_osinfo(QgaClient& client);
// Starts `path` with `args` (output captured) and returns the guest pid.
asio::awaitable<QgaTyped<std::int64_t>> guest_exec_start(QgaClient& client, std::string path,
                                                         std::vector<std::string> args);
// The status of a started process; nullopt while it runs.
asio::awaitable<QgaTyped<std::optional<GuestExecResult>>> guest_exec_status(QgaClient& client,
                                                                            std::int64_t pid);
// Starts and polls until the process exits; Kind::timeout when it runs longer than `limit`.
// Each poll is its own command, so other commands interleave with a long run.
asio::awaitable<QgaTyped<GuestExecResult>> guest_exec(QgaClient& client, std::string path,
                                                      std::vector<std::string> args,
                                                      std::chrono::milliseconds limit = 30s);
// mode: "powerdown", "halt" or "reboot". The agent does not answer; success means "sent".
asio::awaitable<QgaDone> guest_shutdown(QgaClient& client, std::string mode = "powerdown");

// Standard base64 (RFC 4648, padding optional); nullopt on a character outside the alphabet.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace qmd::qmp
