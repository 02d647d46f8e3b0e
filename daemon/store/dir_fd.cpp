#include "daemon/store/dir_fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace qmd::daemon {
namespace {

constexpr int kMaxDepth = 16;  // qmd makes two levels below a run or state dir
constexpr std::size_t kChunk = 1 << 16;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::vector<std::string> list_names(int dir) {
  std::vector<std::string> names;
  UniqueFd listed(::dup(dir));
  DIR* listing = listed ? ::fdopendir(listed.get()) : nullptr;
  if (listing == nullptr) {
    return names;
  }
  listed.release();  // the DIR owns it now
  ::rewinddir(listing);
  while (const dirent* entry = ::readdir(listing)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      names.emplace_back(entry->d_name);
    }
  }
  ::closedir(listing);
  return names;
}

void chown_tree(int dir, PathOwner owner, int depth) {
  (void)::fchown(dir, owner.uid, owner.gid);
  if (depth >= kMaxDepth) {
    return;
  }
  for (const auto& name : list_names(dir)) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      if (UniqueFd sub = open_dir_nofollow(dir, name.c_str())) {
        chown_tree(sub.get(), owner, depth + 1);
      }
    } else if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
      // O_NOFOLLOW: the name may have become a link since the fstatat.
      UniqueFd file(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
      struct stat now {};
      if (file && ::fstat(file.get(), &now) == 0 && S_ISREG(now.st_mode) && now.st_nlink == 1) {
        (void)::fchown(file.get(), owner.uid, owner.gid);
      }
    }
  }
}

std::expected<void, std::string> write_all(int fd, const char* data, std::size_t size,
                                           const std::string& shown) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno != EINTR) {
      return std::unexpected(errno_text("write " + shown));
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  return {};
}

std::expected<void, std::string> copy_bytes(int from, int to, const std::string& shown) {
  std::vector<char> buffer(kChunk);
  for (;;) {
    const ssize_t n = ::read(from, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return std::unexpected(errno_text("read for " + shown));
    }
    if (n == 0) {
      return {};
    }
    if (auto wrote = write_all(to, buffer.data(), static_cast<std::size_t>(n), shown); !wrote) {
      return wrote;
    }
  }
}

// A new file `name` in `dir`, created here (never an existing one, never through a link),
// with its owner and mode set on the descriptor.
std::expected<UniqueFd, std::string> create_new(int dir, const std::string& name, mode_t mode,
                                                PathOwner owner, const std::string& shown) {
  UniqueFd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       0600));
  if (!fd) {
    return std::unexpected(errno_text("create " + shown));
  }
  if (::fchown(fd.get(), owner.uid, owner.gid) != 0 || ::fchmod(fd.get(), mode) != 0) {
    const std::string why = errno_text("set owner and mode of " + shown);
    ::unlinkat(dir, name.c_str(), 0);
    return std::unexpected(why);
  }
  return fd;
}

std::string temp_name(const std::string& name) {
  unsigned char random[6] = {};
  (void)::getrandom(random, sizeof(random), 0);
  std::string out = "." + name + ".tmp-";
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char byte : random) {
    out += kHex[byte >> 4];
    out += kHex[byte & 15];
  }
  return out;
}

}  // namespace

std::vector<std::string> names_in_dir(int dir) { return list_names(dir); }

PathOwner self_owner() { return PathOwner{::geteuid(), ::getegid()}; }

UniqueFd open_dir_nofollow(int at, const char* name) {
  return UniqueFd(::openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

std::expected<UniqueFd, std::string> open_config_dir(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return std::unexpected("make directory " + path + ": " + ec.message());
  }
  UniqueFd dir(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    return std::unexpected(errno_text("open directory " + path));
  }
  return dir;
}

std::expected<std::pair<UniqueFd, std::string>, std::string> open_parent(
    const std::string& path) {
  std::filesystem::path where = std::filesystem::path(path).lexically_normal();
  if (!where.has_filename()) {
    where = where.parent_path();
  }
  const std::string name = where.filename();
  if (name.empty() || name == "." || name == ".." || !where.has_parent_path()) {
    return std::unexpected(path + ": not a path qmd works in");
  }
  auto parent = open_config_dir(where.parent_path());
  if (!parent) {
    return std::unexpected(parent.error());
  }
  return std::pair{std::move(*parent), name};
}

std::expected<UniqueFd, std::string> make_dir_at(int parent, const std::string& name,
                                                 mode_t mode, PathOwner owner,
                                                 const std::string& shown) {
  if (::mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(errno_text("make directory " + shown));
  }
  UniqueFd dir = open_dir_nofollow(parent, name.c_str());
  if (!dir) {
    if (errno == ELOOP || errno == ENOTDIR) {
      return std::unexpected(
          shown + " is a link or a file, not a directory; qmd follows no links there: remove it");
    }
    return std::unexpected(errno_text("open directory " + shown));
  }
  if (::fchown(dir.get(), owner.uid, owner.gid) != 0 || ::fchmod(dir.get(), mode) != 0) {
    return std::unexpected(errno_text("set owner and mode of " + shown));
  }
  return dir;
}

std::expected<UniqueFd, std::string> make_dir_path(const std::string& path, mode_t mode,
                                                   PathOwner owner) {
  auto parent = open_parent(path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  return make_dir_at(parent->first.get(), parent->second, mode, owner, path);
}

void chown_tree_at(int dir, PathOwner owner) { chown_tree(dir, owner, 0); }

std::expected<bool, std::string> copy_if_missing_at(int dir, const std::string& name,
                                                    const std::string& source, mode_t mode,
                                                    PathOwner owner, const std::string& shown) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode) && st.st_nlink == 1) {
      // Kept, and handed to `owner` (a VM whose QEMU uid changed): through a descriptor.
      if (st.st_uid != owner.uid || st.st_gid != owner.gid) {
        UniqueFd kept(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
        if (!kept || ::fchown(kept.get(), owner.uid, owner.gid) != 0) {
          return std::unexpected(errno_text("hand " + shown + " to its owner"));
        }
      }
      return false;
    }
    if (S_ISDIR(st.st_mode) || ::unlinkat(dir, name.c_str(), 0) != 0) {
      return std::unexpected(shown + " is not a regular file; remove it");
    }
  }
  UniqueFd from(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
  if (!from) {
    return std::unexpected(errno_text("open " + source));
  }
  auto to = create_new(dir, name, mode, owner, shown);
  if (!to) {
    return std::unexpected(to.error());
  }
  if (auto copied = copy_bytes(from.get(), to->get(), shown); !copied) {
    ::unlinkat(dir, name.c_str(), 0);
    return std::unexpected(copied.error());
  }
  return true;
}

std::expected<void, std::string> write_file_at(int dir, const std::string& name,
                                               const std::string& bytes, mode_t mode,
                                               PathOwner owner, const std::string& shown) {
  const std::string temp = temp_name(name);
  auto fd = create_new(dir, temp, mode, owner, shown);
  if (!fd) {
    return std::unexpected(fd.error());
  }
  auto wrote = write_all(fd->get(), bytes.data(), bytes.size(), shown);
  if (wrote && ::fsync(fd->get()) != 0) {
    wrote = std::unexpected(errno_text("fsync " + shown));
  }
  if (wrote && ::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) {
    wrote = std::unexpected(errno_text("rename into " + shown));
  }
  if (!wrote) {
    ::unlinkat(dir, temp.c_str(), 0);
  }
  return wrote;
}

std::expected<std::string, std::string> read_file_nofollow(const std::string& path,
                                                           std::size_t limit) {
  auto parent = open_parent(path);
  if (!parent) {
    return std::unexpected(parent.error());
  }
  UniqueFd fd(::openat(parent->first.get(), parent->second.c_str(),
                       O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) {
    return std::unexpected(errno_text("open " + path + " (qmd follows no links there)"));
  }
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || static_cast<std::size_t>(st.st_size) > limit) {
    return std::unexpected(path + " is not a regular file of at most " + std::to_string(limit) +
                           " bytes with one name");
  }
  std::string bytes(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace qmd::daemon
