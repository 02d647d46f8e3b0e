#pragma once
// The paths a spec names on disk (hostDisk/file/block volumes, kernelBoot's kernel and
// initrd), checked against the storage roots: at create and update (a file may still be to
// come) and again at start (it must be there, unless qmd creates it).
#include <span>
#include <string>
#include <vector>

#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::daemon {

struct UserPath {
  std::string field;  // relative to the VMI spec: "volumes[0].hostDisk.path"
  std::string path;
  bool created_by_qmd = false;  // hostDisk DiskOrCreate: qmd makes it when it is missing
};

// Every path `spec` names, in spec order. Pure.
std::vector<UserPath> user_paths(const policy::VmSpec& spec);

enum class PathCheck {
  defined,  // create/update: beneath a root, through no link; may not exist yet
  starting, // start: also there (or, for DiskOrCreate, its directory is)
};

// One error per refused path, at the field's line:column, naming the path and the roots.
policy::SpecErrors check_user_paths(const policy::VmSpec& spec,
                                    std::span<const std::string> roots, PathCheck when);

}  // namespace qmd::daemon
