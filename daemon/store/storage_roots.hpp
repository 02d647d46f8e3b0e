#pragma once
// Storage roots: the only directories whose files a spec, a hotplug call or an incoming
// migration may name. A user's path is data from someone who is not root, so it is opened
// beneath the root it names with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS) on a descriptor of that root: no `..`, link or magic link can lead
// the root-run qmd out of it. The string is only used to pick the root; the kernel walks.
#include <sys/types.h>

#include <expected>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

struct PathRefusal {
  enum class Why {
    outside,   // beneath no root (decided from the string alone: nothing was looked up)
    is_root,   // a root itself, not a file in it
    link,      // a symbolic link on the way (or at the end)
    escapes,   // `..` climbs out of the root
    missing,   // a component does not exist
    exists,    // O_EXCL and the file is there
    other,     // any other errno, named in the message
  };
  Why why = Why::other;
  std::string message;  // names the path, what is wrong, and the roots
};

// "/srv/disks, /var/lib/qmd/storage"
std::string describe_roots(std::span<const std::string> roots);

// Opens `path` (absolute) beneath the deepest root that contains it, with open(2) `flags`
// (O_CLOEXEC is added; O_NOFOLLOW too, except with O_PATH where the resolve flags already
// refuse a link) and `mode` for O_CREAT.
std::expected<UniqueFd, PathRefusal> open_beneath(std::span<const std::string> roots,
                                                  std::string_view path, int flags,
                                                  mode_t mode = 0);

// A file qmd created beneath a root, as it was made: removed later only if that same file
// still stands at the path.
struct MadeFile {
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};

// Removes `made` when the name still holds that file (its directory reached beneath the roots,
// no link followed); anything else at the path stays. Errors are ignored.
void remove_made_file(std::span<const std::string> roots, const MadeFile& made);

// The start-up check of the configured roots: each an absolute, existing directory that
// neither contains nor lies inside qmd's state or run directory (the default root,
// <stateDir>/storage, is the one allowed inside the state dir). The error names the root.
std::expected<void, std::string> check_roots(std::span<const std::string> roots,
                                             const std::string& state_dir,
                                             const std::string& run_dir,
                                             const std::string& default_root);

}  // namespace qmd::daemon
