#pragma once
// Work in directories that another user (the QEMU user) can write to, as root: every step
// goes through a directory descriptor and opens the next name without following links, so a
// link planted between a check and a use is refused or removed, never followed. The path up
// to the directory qmd works in is qmd's own configuration (run dir, state dir) and is
// opened as configured; below it nothing is followed.
#include <sys/types.h>

#include <expected>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

struct PathOwner {
  uid_t uid = 0;
  gid_t gid = 0;
};

// qmd's own user and group (root's when qmd runs as root).
PathOwner self_owner();

// The directory `name` in `at` (AT_FDCWD: a path), unless it is a link; empty on failure.
UniqueFd open_dir_nofollow(int at, const char* name);

// The directory `path` as configured (links in it followed: it is qmd's configuration),
// made with its missing parents (0755) when absent.
std::expected<UniqueFd, std::string> open_config_dir(const std::string& path);

// Makes (or keeps) the directory `name` in `parent`, never through a link, and sets its
// owner and mode on the opened descriptor. A link or a file in its place is an error that
// names `shown`. Returns the directory.
std::expected<UniqueFd, std::string> make_dir_at(int parent, const std::string& name,
                                                 mode_t mode, PathOwner owner,
                                                 const std::string& shown);
// The same for a path: its parent as configured (open_config_dir), its last name not followed.
std::expected<UniqueFd, std::string> make_dir_path(const std::string& path, mode_t mode,
                                                   PathOwner owner);

// Gives `dir` and what is in it to `owner`: directories (opened without following links) and
// regular files with one link; links and files with more names (hard links to elsewhere)
// are left alone.
void chown_tree_at(int dir, PathOwner owner);

// Copies `source` to the new file `name` in `dir` (mode, owner set on the descriptor),
// unless a regular file with one link is there already (kept: returns false). Anything
// else in its place (a link, a fifo) is removed first. Returns whether it copied.
std::expected<bool, std::string> copy_if_missing_at(int dir, const std::string& name,
                                                    const std::string& source, mode_t mode,
                                                    PathOwner owner, const std::string& shown);

// Replaces `name` in `dir` with a new file holding `bytes` (written to a hidden temporary
// and renamed, never through a link).
std::expected<void, std::string> write_file_at(int dir, const std::string& name,
                                               const std::string& bytes, mode_t mode,
                                               PathOwner owner, const std::string& shown);

// Reads the regular file `path` (its last name not followed; the directory as configured),
// at most `limit` bytes.
std::expected<std::string, std::string> read_file_nofollow(const std::string& path,
                                                           std::size_t limit);

// The names in the directory `dir` ("." and ".." left out).
std::vector<std::string> names_in_dir(int dir);

// Opens the parent directory of `path` as configured and returns it with the last name.
std::expected<std::pair<UniqueFd, std::string>, std::string> open_parent(
    const std::string& path);

}  // namespace qmd::daemon
