// The read-only guest queries: host name, time zone, users, file systems, network interfaces.
#include <boost/json/array.hpp>
#include <optional>
#include <utility>

#include "qmp/qga_commands.hpp"
#include "qmp/qga_commands_reader.hpp"

namespace qmd::qmp {
namespace {

namespace json = boost::json;
using detail::FieldReader;
using detail::read_each;
using detail::unexpected_reply;

// Runs `name` and reads its "return" with `read`, which yields nullopt on a wrong shape.
template <typename T, typename Read>
asio::awaitable<QgaTyped<T>> query(QgaClient& client, const char* name, Read read) {
  auto reply = co_await client.execute(name);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  std::optional<T> value = read(*reply);
  if (!value) {
    co_return std::unexpected(unexpected_reply(name, *reply));
  }
  co_return std::move(*value);
}

// An object reply read field by field with `read(FieldReader&)`.
template <typename T, typename Read>
std::optional<T> read_object(const json::value& reply, Read read) {
  if (!reply.is_object()) {
    return std::nullopt;
  }
  FieldReader r(reply.get_object());
  std::optional<T> value = read(r);
  return r.ok() ? value : std::nullopt;
}

std::optional<GuestDiskAddress> read_disk(FieldReader& r) {
  GuestDiskAddress disk;
  disk.serial = r.opt_string("serial");
  disk.dev = r.opt_string("dev");
  disk.bus_type = r.string("bus-type");
  FieldReader pci(r.object("pci-controller"));
  disk.pci_controller = {pci.integer("domain"), pci.integer("bus"), pci.integer("slot"),
                         pci.integer("function")};
  disk.bus = r.integer("bus");
  disk.target = r.integer("target");
  disk.unit = r.integer("unit");
  if (!pci.ok()) {
    return std::nullopt;
  }
  return disk;
}

std::optional<GuestFilesystem> read_filesystem(FieldReader& r) {
  GuestFilesystem fs;
  fs.name = r.string("name");
  fs.mountpoint = r.string("mountpoint");
  fs.type = r.string("type");
  fs.used_bytes = r.opt_unsigned("used-bytes");
  fs.total_bytes = r.opt_unsigned("total-bytes");
  auto disks = read_each<GuestDiskAddress>(r.array("disk"), read_disk);
  if (!disks) {
    return std::nullopt;
  }
  fs.disks = std::move(*disks);
  return fs;
}

std::optional<GuestIpAddress> read_ip(FieldReader& r) {
  GuestIpAddress ip;
  const auto type = r.string("ip-address-type");
  if (type == "ipv4") {
    ip.type = GuestIpAddress::Family::ipv4;
  } else if (type == "ipv6") {
    ip.type = GuestIpAddress::Family::ipv6;
  } else {
    return std::nullopt;
  }
  ip.address = r.string("ip-address");
  ip.prefix = r.integer("prefix");
  return ip;
}

std::optional<GuestNetworkInterface> read_interface(FieldReader& r) {
  GuestNetworkInterface nic;
  nic.name = r.string("name");
  nic.hardware_address = r.opt_string("hardware-address").value_or("");
  auto ips = read_each<GuestIpAddress>(*r.opt_array("ip-addresses"), read_ip);
  if (!ips) {
    return std::nullopt;
  }
  nic.ip_addresses = std::move(*ips);
  return nic;
}

template <typename T, typename Read>
std::optional<std::vector<T>> read_list(const json::value& reply, Read read) {
  if (!reply.is_array()) {
    return std::nullopt;
  }
  return read_each<T>(reply.get_array(), read);
}

}  // namespace

asio::awaitable<QgaTyped<std::string>> guest_get_host_name(QgaClient& client) {
  co_return co_await query<std::string>(client, "guest-get-host-name", [](const json::value& v) {
    return read_object<std::string>(v, [](FieldReader& r) { return r.opt_string("host-name"); });
  });
}

asio::awaitable<QgaTyped<GuestTimezone>> guest_get_timezone(QgaClient& client) {
  co_return co_await query<GuestTimezone>(client, "guest-get-timezone", [](const json::value& v) {
    return read_object<GuestTimezone>(v, [](FieldReader& r) {
      return std::optional<GuestTimezone>(GuestTimezone{r.opt_string("zone"), r.integer("offset")});
    });
  });
}

asio::awaitable<QgaTyped<std::vector<GuestUser>>> guest_get_users(QgaClient& client) {
  co_return co_await query<std::vector<GuestUser>>(
      client, "guest-get-users", [](const json::value& v) {
        return read_list<GuestUser>(v, [](FieldReader& r) {
          return std::optional<GuestUser>(
              GuestUser{r.string("user"), r.opt_string("domain"), r.number("login-time")});
        });
      });
}

asio::awaitable<QgaTyped<std::vector<GuestFilesystem>>> guest_get_fsinfo(QgaClient& client) {
  co_return co_await query<std::vector<GuestFilesystem>>(
      client, "guest-get-fsinfo",
      [](const json::value& v) { return read_list<GuestFilesystem>(v, read_filesystem); });
}

asio::awaitable<QgaTyped<std::vector<GuestNetworkInterface>>> guest_network_get_interfaces(
    QgaClient& client) {
  co_return co_await query<std::vector<GuestNetworkInterface>>(
      client, "guest-network-get-interfaces",
      [](const json::value& v) { return read_list<GuestNetworkInterface>(v, read_interface); });
}

}  // namespace qmd::qmp
