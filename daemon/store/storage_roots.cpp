#include "daemon/store/storage_roots.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <optional>

namespace qmd::daemon {

namespace {

namespace fs = std::filesystem;
using Why = PathRefusal::Why;

bool beneath_or_at(std::string_view path, std::string_view root) {
  if (root == "/") {
    return path.starts_with('/');
  }
  return path.starts_with(root) &&
         (path.size() == root.size() || path[root.size()] == '/');
}

// The deepest root that contains `path` by its name.
std::optional<std::string> root_of(std::span<const std::string> roots, std::string_view path) {
  std::optional<std::string> best;
  for (const auto& root : roots) {
    if (beneath_or_at(path, root) && (!best || root.size() > best->size())) {
      best = root;
    }
  }
  return best;
}

// `path` relative to `root`, without leading slashes; "" when it names the root itself.
std::string relative_to(std::string_view path, const std::string& root) {
  std::string_view rest = path.substr(root == "/" ? 0 : root.size());
  while (rest.starts_with('/')) {
    rest.remove_prefix(1);
  }
  std::string out(rest);
  while (out.ends_with('/')) {
    out.pop_back();
  }
  return out == "." ? std::string() : out;
}

PathRefusal refusal(Why why, std::string_view path, std::string_view what,
                    std::span<const std::string> roots) {
  return {why, fmt::format("{} {}; the storage roots (storage.roots in qmd.yaml) are {}", path,
                           what, describe_roots(roots))};
}

PathRefusal from_errno(int err, std::string_view path, std::span<const std::string> roots) {
  switch (err) {
    case ELOOP:
      return refusal(Why::link, path,
                     "goes through a symbolic link; name the file itself, beneath a root", roots);
    case EXDEV:
      return refusal(Why::escapes, path, "climbs out of its storage root with ..", roots);
    case ENOENT:
      return refusal(Why::missing, path, "does not exist (or a directory on the way does not)",
                     roots);
    case EEXIST:
      return refusal(Why::exists, path, "exists already; qmd creates only new files", roots);
    default:
      return refusal(Why::other, path, fmt::format("cannot be opened: {}", std::strerror(err)),
                     roots);
  }
}

bool inside(const fs::path& a, const fs::path& b) {
  auto [end_b, end_a] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
  return end_b == b.end();
}

fs::path canonical_or_self(const std::string& path) {
  std::error_code ec;
  auto out = fs::weakly_canonical(path, ec);
  return ec ? fs::path(path).lexically_normal() : out;
}

}  // namespace

std::string describe_roots(std::span<const std::string> roots) {
  std::string out;
  for (const auto& root : roots) {
    out += out.empty() ? root : ", " + root;
  }
  return out.empty() ? std::string("(none)") : out;
}

std::expected<UniqueFd, PathRefusal> open_beneath(std::span<const std::string> roots,
                                                  std::string_view path, int flags,
                                                  mode_t mode) {
  if (!path.starts_with('/') || path.find('\0') != std::string_view::npos) {
    return std::unexpected(
        refusal(Why::outside, path, "is not an absolute path beneath a storage root", roots));
  }
  const auto root = root_of(roots, path);
  if (!root) {
    return std::unexpected(refusal(Why::outside, path, "is outside every storage root", roots));
  }
  const std::string rel = relative_to(path, *root);
  if (rel.empty()) {
    return std::unexpected(
        refusal(Why::is_root, path, "is a storage root itself, not a file in it", roots));
  }
  // The root is the administrator's: following a link to it is fine.
  UniqueFd dir(::open(root->c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    const int err = errno;
    return std::unexpected(refusal(
        Why::other, path,
        fmt::format("cannot be reached: its storage root {} cannot be opened: {}", *root,
                    std::strerror(err)),
        roots));
  }
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOFOLLOW));
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = -1;
  do {
    fd = ::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof(how));
  } while (fd < 0 && (errno == EINTR || errno == EAGAIN));
  if (fd < 0) {
    return std::unexpected(from_errno(errno, path, roots));
  }
  return UniqueFd(static_cast<int>(fd));
}

void remove_made_file(std::span<const std::string> roots, const MadeFile& made) {
  const fs::path path(made.path);
  const std::string dir = path.parent_path().string();
  const std::string name = path.filename().string();
  UniqueFd parent;
  if (root_of(roots, dir) && relative_to(dir, *root_of(roots, dir)).empty()) {
    parent.reset(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));  // a root itself
  } else if (auto opened = open_beneath(roots, dir, O_PATH | O_DIRECTORY)) {
    parent = std::move(*opened);
  }
  struct stat st {};
  if (!parent || name.empty() ||
      ::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return;
  }
  if (st.st_dev == made.dev && st.st_ino == made.ino) {
    ::unlinkat(parent.get(), name.c_str(), 0);
  }
}

std::expected<void, std::string> check_roots(std::span<const std::string> roots,
                                             const std::string& state_dir,
                                             const std::string& run_dir,
                                             const std::string& default_root) {
  const fs::path state = canonical_or_self(state_dir);
  const fs::path run = canonical_or_self(run_dir);
  const fs::path fallback = canonical_or_self(default_root);
  for (const auto& root : roots) {
    struct stat st {};
    if (!root.starts_with('/')) {
      return std::unexpected(fmt::format("storage root {} is not an absolute path", root));
    }
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return std::unexpected(fmt::format(
          "storage root {} is not an existing directory; create it or remove it from "
          "storage.roots in qmd.yaml",
          root));
    }
    const fs::path real = canonical_or_self(root);
    if (real == fallback) {
      continue;  // <stateDir>/storage: qmd's own default root
    }
    for (const auto& [dir, what] : {std::pair{state, "state"}, std::pair{run, "run"}}) {
      if (inside(real, dir) || inside(dir, real)) {
        return std::unexpected(fmt::format(
            "storage root {} {} qmd's {} directory {}: a user could then name qmd's own files "
            "as disks; use a directory apart from both",
            root, inside(real, dir) ? "lies inside" : "contains", what, dir.string()));
      }
    }
  }
  return {};
}

}  // namespace qmd::daemon
