#include "daemon/store/remove_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>


namespace qmd::daemon {
namespace {

constexpr int kMaxDepth = 64;  // deeper than anything qmd makes; a bound, not a limit in use

void remove_at(int parent, const char* name, int depth) {
  UniqueFd dir = open_dir_nofollow(parent, name);
  if (!dir) {
    ::unlinkat(parent, name, 0);  // a file or a link: the name goes, not what it points to
    return;
  }
  std::vector<std::string> names;  // read first: unlinking while reading may skip entries
  UniqueFd listed(::dup(dir.get()));
  if (DIR* listing = listed ? ::fdopendir(listed.get()) : nullptr) {
    listed.release();  // the DIR owns it now
    while (const dirent* entry = ::readdir(listing)) {
      if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
        names.emplace_back(entry->d_name);
      }
    }
    ::closedir(listing);
  }
  if (depth < kMaxDepth) {
    for (const auto& entry : names) {
      remove_at(dir.get(), entry.c_str(), depth + 1);
    }
  }
  ::unlinkat(parent, name, AT_REMOVEDIR);
}

}  // namespace

void remove_tree_at(int parent, const char* name) { remove_at(parent, name, 0); }

std::expected<void, std::string> remove_tree(const std::string& path) {
  std::filesystem::path where = std::filesystem::path(path).lexically_normal();
  if (!where.has_filename()) {
    where = where.parent_path();  // "dir/" names dir
  }
  const std::string name = where.filename();
  if (name.empty() || name == "." || name == "..") {
    return std::unexpected("remove " + path + ": not a path to remove");  // never "x/.."
  }
  const std::string parent_path = where.has_parent_path() ? where.parent_path().string() : ".";
  UniqueFd parent(::open(parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent) {
    if (errno == ENOENT) {
      return {};
    }
    return std::unexpected("remove " + path + ": " + std::strerror(errno));
  }
  remove_tree_at(parent.get(), name.c_str());
  struct stat st {};
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return std::unexpected("remove " + path + ": some of it could not be removed");
  }
  return {};
}

}  // namespace qmd::daemon
