#include "daemon/store/scratch_images.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <string_view>
#include <vector>

#include "daemon/store/remove_tree.hpp"

namespace qmd::daemon {

void remove_scratch_images(const std::string& run_dir) {
  UniqueFd dir = open_dir_nofollow(AT_FDCWD, run_dir.c_str());
  if (!dir) {
    return;
  }
  const int listing = ::dup(dir.get());
  DIR* stream = listing < 0 ? nullptr : ::fdopendir(listing);
  if (stream == nullptr) {
    if (listing >= 0) {
      ::close(listing);
    }
    return;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name.starts_with("empty-") && name.ends_with(".img")) {
      names.emplace_back(name);
    }
  }
  ::closedir(stream);
  for (const auto& name : names) {
    ::unlinkat(dir.get(), name.c_str(), 0);
  }
}

}  // namespace qmd::daemon
