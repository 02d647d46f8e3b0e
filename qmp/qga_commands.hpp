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
// Starts `path` with `args` (output captured) and returns the guest pid. `timeout` bounds
// the command (default: the client's command_timeout).
asio::awaitable<QgaTyped<std::int64_t>> guest_exec_start(
    QgaClient& client, std::string path, std::vector<std::string> args,
    std::optional<std::chrono::milliseconds> timeout = std::nullopt);
// The status of a started process; nullopt while it runs.
asio::awaitable<QgaTyped<std::optional<GuestExecResult>>> guest_exec_status(
    QgaClient& client, std::int64_t pid,
    std::optional<std::chrono::milliseconds> timeout = std::nullopt);
// Starts and polls until the process exits; Kind::timeout when it runs longer than `limit`.
// Each poll is its own command, so other commands interleave with a long run.
asio::awaitable<QgaTyped<GuestExecResult>> guest_exec(QgaClient& client, std::string path,
                                                      std::vector<std::string> args,
                                                      std::chrono::milliseconds limit = 30s);
// mode: "powerdown", "halt" or "reboot". The agent does not answer; success means "sent".
asio::awaitable<QgaDone> guest_shutdown(QgaClient& client, std::string mode = "powerdown");

// The typed helpers below read replies strictly: a field the protocol requires that is missing,
// or any field of the wrong type, is Kind::protocol naming the command and the reply.

struct GuestTimezone {
  std::optional<std::string> zone;  // e.g. "UTC"; the agent leaves it out when it has no name
  std::int64_t offset = 0;          // seconds east of UTC
  bool operator==(const GuestTimezone&) const = default;
};

struct GuestUser {
  std::string user;
  std::optional<std::string> domain;  // Windows only
  double login_time = 0;              // seconds since the epoch, of the earliest session
  bool operator==(const GuestUser&) const = default;
};

struct GuestPciAddress {
  std::int64_t domain = 0;
  std::int64_t bus = 0;
  std::int64_t slot = 0;
  std::int64_t function = 0;
  bool operator==(const GuestPciAddress&) const = default;
};

struct GuestDiskAddress {
  std::optional<std::string> serial;
  std::optional<std::string> dev;  // e.g. "/dev/vda"
  std::string bus_type;            // "virtio", "scsi", "ide", "sata", "unknown", ...
  GuestPciAddress pci_controller;
  std::int64_t bus = 0;
  std::int64_t target = 0;
  std::int64_t unit = 0;
  bool operator==(const GuestDiskAddress&) const = default;
};

struct GuestFilesystem {
  std::string name;  // the device, e.g. "vda1"
  std::string mountpoint;
  std::string type;  // e.g. "ext4"
  std::optional<std::uint64_t> used_bytes;
  std::optional<std::uint64_t> total_bytes;
  std::vector<GuestDiskAddress> disks;
  bool operator==(const GuestFilesystem&) const = default;
};

struct GuestIpAddress {
  enum class Family { ipv4, ipv6 };
  Family type = Family::ipv4;
  std::string address;
  std::int64_t prefix = 0;
  bool operator==(const GuestIpAddress&) const = default;
};

struct GuestNetworkInterface {
  std::string name;
  std::string hardware_address;  // empty when the agent reports none
  std::vector<GuestIpAddress> ip_addresses;
  bool operator==(const GuestNetworkInterface&) const = default;
};

enum class FsFreezeStatus { thawed, frozen };

asio::awaitable<QgaTyped<std::string>> guest_get_host_name(QgaClient& client);
asio::awaitable<QgaTyped<GuestTimezone>> guest_get_timezone(QgaClient& client);
asio::awaitable<QgaTyped<std::vector<GuestUser>>> guest_get_users(QgaClient& client);
asio::awaitable<QgaTyped<std::vector<GuestFilesystem>>> guest_get_fsinfo(QgaClient& client);
asio::awaitable<QgaTyped<std::vector<GuestNetworkInterface>>> guest_network_get_interfaces(
    QgaClient& client);

// Freezing waits for every file system to sync, which can take long on a busy guest; both
// return how many file systems changed state.
asio::awaitable<QgaTyped<std::int64_t>> guest_fsfreeze_freeze(
    QgaClient& client, std::chrono::milliseconds timeout = 60s);
asio::awaitable<QgaTyped<std::int64_t>> guest_fsfreeze_thaw(
    QgaClient& client, std::chrono::milliseconds timeout = 60s);
asio::awaitable<QgaTyped<FsFreezeStatus>> guest_fsfreeze_status(QgaClient& client);

// `password` is sent base64-encoded, as the protocol wants; `crypted` says it is already a
// crypt(3) hash. Nothing here logs or copies it into an error message.
asio::awaitable<QgaDone> guest_set_user_password(QgaClient& client, std::string user,
                                                 std::string password, bool crypted = false);
// Sets the guest clock to `nanoseconds` since the epoch; without it, the guest reads its own
// RTC (qemu-ga runs `hwclock -s`), which is how a clock is fixed after a pause or a migration.
// Makes `keys` (OpenSSH public key lines) `user`'s authorized keys in the guest: with `reset`
// exactly these, else added to what is there.
asio::awaitable<QgaDone> guest_ssh_add_authorized_keys(QgaClient& client, std::string user,
                                                       std::vector<std::string> keys, bool reset);
asio::awaitable<QgaDone> guest_set_time(QgaClient& client,
                                        std::optional<std::int64_t> nanoseconds = std::nullopt);

// Standard base64 (RFC 4648, padding optional); nullopt on a character outside the alphabet.
std::optional<std::string> decode_base64(std::string_view text);
// Standard base64 with padding.
std::string encode_base64(std::string_view bytes);

}  // namespace qmd::qmp
