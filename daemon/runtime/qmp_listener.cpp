#include "daemon/runtime/qmp_listener.hpp"

#include <fmt/format.h>

#include <optional>
#include <utility>

#include "daemon/launch/listen_socket.hpp"
#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {
namespace {

struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

// Where, in one QEMU option string, the `path=` option holding `path` lies: QEMU splits
// options at single commas and reads ",," as one comma inside a value.
std::optional<Span> path_option(const std::string& options, const std::string& path) {
  std::size_t begin = 0;
  std::string value;  // the current option, unescaped
  for (std::size_t i = 0; i <= options.size(); ++i) {
    if (i < options.size() && options[i] == ',' && i + 1 < options.size() &&
        options[i + 1] == ',') {
      value += ',';
      ++i;
      continue;
    }
    if (i == options.size() || options[i] == ',') {
      if (value == "path=" + path) {
        return Span{begin, i};
      }
      value.clear();
      begin = i + 1;
      continue;
    }
    value += options[i];
  }
  return std::nullopt;
}

}  // namespace

std::expected<UniqueFd, std::string> listen_for_monitor(const std::string& socket_path) {
  auto parent = open_parent(socket_path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  return listen_unix_at(parent->first.get(), parent->second, socket_path);
}

std::expected<std::vector<std::string>, std::string> with_monitor_fd(
    const std::vector<std::string>& args, const std::string& socket_path, int fd) {
  std::vector<std::string> out = args;
  for (std::size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] != "-chardev" || !out[i + 1].starts_with("socket,")) {
      continue;
    }
    if (auto span = path_option(out[i + 1], socket_path)) {
      out[i + 1].replace(span->begin, span->end - span->begin, fmt::format("fd={}", fd));
      return out;
    }
  }
  return std::unexpected(fmt::format(
      "the QEMU command line has no -chardev socket at {} (the QMP monitor)", socket_path));
}

}  // namespace qmd::daemon
