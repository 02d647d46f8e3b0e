#include "daemon/storage/container_disk_archive.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/json/parse.hpp>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "daemon/launch/child_process.hpp"

namespace qmd::daemon::storage {

namespace {

namespace json = boost::json;

constexpr std::size_t kMaxJsonBytes = 1 << 20;  // index.json, a manifest
constexpr std::size_t kMaxListingBytes = 16 << 20;

struct Member {
  std::string name;
  std::uint64_t size = 0;
};

std::string read_fd(int fd, std::size_t cap) {
  std::string out(cap + 1, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n <= 0) {
      break;
    }
    got += static_cast<std::size_t>(n);
  }
  out.resize(got);
  return out;
}

// `tar -tv` lines: "-rw-r--r-- 0/0 1048576 2024-01-01 00:00 disk/disk.img". The first regular
// file under disk/ (or ./disk/).
std::optional<Member> disk_member(const std::string& listing) {
  std::istringstream lines(listing);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string mode, owner, date, time, name;
    std::uint64_t size = 0;
    if (!(fields >> mode >> owner >> size >> date >> time) || mode.empty() || mode[0] != '-') {
      continue;
    }
    std::getline(fields >> std::ws, name);
    const std::string_view n = name;
    const bool in_disk = n.starts_with("disk/") || n.starts_with("./disk/");
    if (in_disk && n.find("/..") == std::string_view::npos && !n.ends_with('/') &&
        n.find(" -> ") == std::string_view::npos && n.find(" link to ") == std::string_view::npos) {
      return Member{name, size};
    }
  }
  return std::nullopt;
}

std::expected<std::optional<Member>, std::string> list_disk(int archive, const Tools& tools) {
  const std::string out = tools.log + ".list";
  (void)::unlink(out.c_str());
  auto listed =
      run_to_completion({tools.tar, "-tv", "-f", fd_path(archive)}, out, tools.quick_timeout);
  std::ifstream in(out);
  std::string text(kMaxListingBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  (void)::unlink(out.c_str());
  if (!listed) {
    return std::unexpected(fmt::format("not a tar archive tar can read: {}", listed.error()));
  }
  return disk_member(text);
}

std::expected<json::object, std::string> read_json(int dir, const std::string& name) {
  const int fd = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return std::unexpected(fmt::format("{}: {}", name, std::strerror(errno)));
  }
  UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) > kMaxJsonBytes) {
    return std::unexpected(fmt::format("{} is not a regular file of at most {} bytes", name,
                                       kMaxJsonBytes));
  }
  std::error_code ec;
  json::value parsed = json::parse(read_fd(fd, kMaxJsonBytes), ec);
  if (ec || !parsed.is_object()) {
    return std::unexpected(fmt::format("{} is not a JSON object", name));
  }
  return std::move(parsed.as_object());
}

// "sha256:HEX" -> "blobs/sha256/HEX" (hex only: the name cannot leave the layout).
std::expected<std::string, std::string> blob_name(const json::value* digest) {
  if (digest == nullptr || !digest->is_string()) {
    return std::unexpected(std::string("a descriptor without a digest"));
  }
  const std::string_view d = digest->as_string();
  const std::string_view hex = d.substr(std::min<std::size_t>(7, d.size()));
  const bool ok = d.starts_with("sha256:") && hex.size() == 64 &&
                  hex.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  if (!ok) {
    return std::unexpected(fmt::format("digest \"{}\" is not sha256:HEX", d));
  }
  return "blobs/sha256/" + std::string(hex);
}

// Every path component opened with O_NOFOLLOW beneath `dir`.
std::expected<UniqueFd, std::string> open_blob(int layout, const std::string& name) {
  UniqueFd at(::openat(layout, "blobs", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  UniqueFd sha(at ? ::openat(at.get(), "sha256", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                  : -1);
  const std::string file = name.substr(name.rfind('/') + 1);
  UniqueFd fd(sha ? ::openat(sha.get(), file.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                  : -1);
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return std::unexpected(fmt::format("{} is not a regular file in the layout", name));
  }
  return fd;
}

std::expected<std::vector<std::string>, std::string> layer_blobs(int layout) {
  auto index = read_json(layout, "index.json");
  if (!index) {
    return std::unexpected(index.error());
  }
  const auto* manifests = index->if_contains("manifests");
  if (manifests == nullptr || !manifests->is_array() || manifests->as_array().empty() ||
      !manifests->as_array()[0].is_object()) {
    return std::unexpected(std::string("index.json lists no manifest"));
  }
  auto manifest_name = blob_name(manifests->as_array()[0].as_object().if_contains("digest"));
  if (!manifest_name) {
    return std::unexpected(manifest_name.error());
  }
  auto manifest_fd = open_blob(layout, *manifest_name);
  if (!manifest_fd) {
    return std::unexpected(manifest_fd.error());
  }
  std::error_code ec;
  json::value manifest = json::parse(read_fd(manifest_fd->get(), kMaxJsonBytes), ec);
  const auto* layers = manifest.is_object() ? manifest.as_object().if_contains("layers") : nullptr;
  if (ec || layers == nullptr || !layers->is_array()) {
    return std::unexpected(fmt::format("the manifest {} lists no layers", *manifest_name));
  }
  std::vector<std::string> out;
  for (const auto& layer : layers->as_array()) {
    auto name = blob_name(layer.is_object() ? layer.as_object().if_contains("digest") : nullptr);
    if (!name) {
      return std::unexpected(name.error());
    }
    out.push_back(*name);
  }
  return out;
}

}  // namespace

bool looks_like_archive(int fd) {
  std::array<unsigned char, 512> head{};
  const ssize_t got = ::pread(fd, head.data(), head.size(), 0);
  if (got < 6) {
    return false;
  }
  const auto starts = [&](std::initializer_list<unsigned char> magic) {
    return std::equal(magic.begin(), magic.end(), head.begin());
  };
  const bool tar = got >= 263 && std::memcmp(head.data() + 257, "ustar", 5) == 0;
  return tar || starts({0x1f, 0x8b}) || starts({0xfd, '7', 'z', 'X', 'Z', 0x00}) ||
         starts({0x28, 0xb5, 0x2f, 0xfd}) || starts({'B', 'Z', 'h'});
}

std::expected<UniqueFd, std::string> disk_from_tar(int archive, int work,
                                                   const std::string& work_path,
                                                   std::uint64_t max_bytes, const Tools& tools) {
  auto member = list_disk(archive, tools);
  if (!member) {
    return std::unexpected(member.error());
  }
  if (!*member) {
    return std::unexpected(std::string(
        "it holds no regular file under disk/ (a KubeVirt container disk has its image "
        "there, e.g. disk/disk.qcow2)"));
  }
  if ((*member)->size > max_bytes) {
    return std::unexpected(fmt::format("its {} is {} bytes; the limit is {}", (*member)->name,
                                       (*member)->size, max_bytes));
  }
  auto extracted = run_to_completion(
      {tools.tar, "-x", "-f", fd_path(archive), "-C", work_path, "--no-same-owner",
       "--no-same-permissions", "--occurrence=1", "--", (*member)->name},
      tools.log, tools.copy_timeout);
  if (!extracted) {
    return std::unexpected(extracted.error());
  }
  std::string rel = (*member)->name.starts_with("./") ? (*member)->name.substr(2)
                                                      : (*member)->name;
  UniqueFd disk_dir(::openat(work, "disk", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  const std::string file = rel.substr(5);
  UniqueFd fd(disk_dir && file.find('/') == std::string::npos
                  ? ::openat(disk_dir.get(), file.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                  : -1);
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return std::unexpected(fmt::format("{} did not come out of the archive as a regular file "
                                       "of at most {} bytes",
                                       (*member)->name, max_bytes));
  }
  return fd;
}

std::expected<UniqueFd, std::string> disk_from_oci(int layout, int work,
                                                   const std::string& work_path,
                                                   std::uint64_t max_bytes, const Tools& tools) {
  auto layers = layer_blobs(layout);
  if (!layers) {
    return std::unexpected(fmt::format("not an OCI image layout: {}", layers.error()));
  }
  for (auto layer = layers->rbegin(); layer != layers->rend(); ++layer) {
    auto blob = open_blob(layout, *layer);
    if (!blob) {
      return std::unexpected(blob.error());
    }
    auto member = list_disk(blob->get(), tools);
    if (member && *member) {
      return disk_from_tar(blob->get(), work, work_path, max_bytes, tools);
    }
  }
  return std::unexpected(std::string("no layer holds a regular file under disk/"));
}

}  // namespace qmd::daemon::storage
