#pragma once
// Removing a directory tree as root where another user (the QEMU user) owns directories in
// it: that user could swap a directory for a link to anywhere between a check and a use, so
// every step goes through descriptors opened without following links, and a link found on
// the way is removed, never followed.
#include <expected>
#include <string>

#include "daemon/store/dir_fd.hpp"

namespace qmd::daemon {

// Removes `name` in the directory `parent` (a descriptor): a directory with everything in
// it, or else the name itself. Errors are ignored: what could not go stays.
void remove_tree_at(int parent, const char* name);

// The same for a path; the error names what is still there. A missing path is no error.
std::expected<void, std::string> remove_tree(const std::string& path);

}  // namespace qmd::daemon
