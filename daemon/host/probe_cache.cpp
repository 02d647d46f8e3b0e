#include "daemon/host/probe_cache.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/host/host_caps_read.hpp"
#include "base/unique_fd.hpp"
#include "daemon/store/atomic_file.hpp"
#include "qmd_version.hpp"

namespace qmd::daemon {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::int64_t kFormat = 1;

std::string file_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fmt::format("{} missing ({})", path, std::strerror(errno));
  }
  return fmt::format("{} {}:{} {} bytes mtime {}.{:09}", path, st.st_dev, st.st_ino, st.st_size,
                     st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

json::object key_json(const ProbeKey& key) {
  return json::object{
      {"qmd", key.qmd}, {"qemu", key.qemu}, {"kernel", key.kernel}, {"kvm", key.kvm}};
}

std::int64_t unix_seconds(std::chrono::system_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
}

// Reads at most `cap` + 1 bytes, so that an oversized file is known without reading it all.
std::expected<std::string, std::string> read_capped(int fd, std::size_t cap) {
  std::string out(cap + 1, '\0');
  std::size_t have = 0;
  while (have < out.size()) {
    const ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(std::string("read: ") + std::strerror(errno));
    }
    if (n == 0) {
      break;
    }
    have += static_cast<std::size_t>(n);
  }
  if (have > cap) {
    return std::unexpected(fmt::format("it is larger than {} bytes", cap));
  }
  out.resize(have);
  return out;
}

}  // namespace

ProbeKey probe_key(const std::string& qemu_binary) {
  ProbeKey key;
  key.qmd =
      fmt::format("qmd {} format {} {}", QMD_VERSION, kFormat, file_identity("/proc/self/exe"));
  key.qemu = file_identity(qemu_binary);
  utsname names{};
  if (::uname(&names) == 0) {
    key.kernel = fmt::format("{} {}", names.release, names.version);
  }
  struct stat st {};
  if (::stat("/dev/kvm", &st) != 0) {
    key.kvm = "absent";
  } else {
    key.kvm = fmt::format("rdev {}:{} mode {:o} uid {} gid {}", major(st.st_rdev),
                          minor(st.st_rdev), st.st_mode, st.st_uid, st.st_gid);
  }
  return key;
}

std::string probe_cache_path(const std::string& state_dir) {
  return state_dir + "/host-probe.json";
}

std::string probe_cache_text(const ProbeKey& key, const CachedProbe& probe) {
  boost::system::error_code ec;
  json::value caps = json::parse(policy::host_caps_json(probe.caps), ec);
  const json::object doc{{"format", kFormat},
                         {"key", key_json(key)},
                         {"probedAt", unix_seconds(probe.probed_at)},
                         {"caps", std::move(caps)}};
  return json::serialize(doc) + "\n";
}

std::expected<CachedProbe, std::string> parse_probe_cache(std::string_view text,
                                                          const ProbeKey& key,
                                                          const std::string& qemu_binary) {
  json::parse_options options;
  options.max_depth = 8;  // the caps nest four deep
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec, {}, options);
  if (ec || !doc.is_object()) {
    return std::unexpected(ec ? "it is not JSON (" + ec.message() + ")"
                              : std::string("it is not a JSON object"));
  }
  const json::object& top = doc.get_object();
  const json::value* format = top.if_contains("format");
  if (format == nullptr || !format->is_int64() || format->get_int64() != kFormat) {
    return std::unexpected(fmt::format("it is not format {}", kFormat));
  }
  const json::value* stored_key = top.if_contains("key");
  if (stored_key == nullptr || *stored_key != json::value(key_json(key))) {
    return std::unexpected(
        "it was probed with another QEMU binary, kernel, /dev/kvm or qmd (the key differs)");
  }
  const json::value* at = top.if_contains("probedAt");
  const auto now = std::chrono::system_clock::now();
  if (at == nullptr || !at->is_int64() || at->get_int64() <= 0 ||
      at->get_int64() > unix_seconds(now + 24h)) {
    return std::unexpected("probedAt is not a time before now");
  }
  const json::value* caps_doc = top.if_contains("caps");
  if (caps_doc == nullptr || top.size() != 4) {
    return std::unexpected("it has no caps, or fields qmd does not write");
  }
  auto caps = host_caps_from_json(*caps_doc, qemu_binary);
  if (!caps) {
    return std::unexpected(std::move(caps.error()));
  }
  return CachedProbe{std::move(*caps),
                     std::chrono::system_clock::time_point(std::chrono::seconds(at->get_int64()))};
}

std::expected<CachedProbe, std::string> read_probe_cache(const std::string& path,
                                                         const ProbeKey& key,
                                                         const std::string& qemu_binary) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    return std::unexpected(errno == ENOENT ? std::string("there is none")
                                           : fmt::format("open: {}", std::strerror(errno)));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return std::unexpected(fmt::format("fstat: {}", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return std::unexpected("it is not a regular file");
  }
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return std::unexpected(fmt::format("it belongs to uid {} with mode {:04o}, not to qmd alone",
                                       st.st_uid, st.st_mode & 07777));
  }
  if (static_cast<std::uint64_t>(st.st_size) > kProbeCacheMaxBytes) {
    return std::unexpected(fmt::format("it is larger than {} bytes", kProbeCacheMaxBytes));
  }
  auto text = read_capped(fd.get(), kProbeCacheMaxBytes);
  if (!text) {
    return std::unexpected(std::move(text.error()));
  }
  return parse_probe_cache(*text, key, qemu_binary);
}

std::expected<void, std::string> write_probe_cache(const std::string& path, const ProbeKey& key,
                                                   const CachedProbe& probe) {
  return write_file_atomic(path, probe_cache_text(key, probe), 0600);
}

}  // namespace qmd::daemon
