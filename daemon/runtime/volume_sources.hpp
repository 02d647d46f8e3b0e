#pragma once
// Claims and container disk images are host facts: the spec names them, this host has them or
// not. Before a render the daemon looks each one up (storage/claim_files.hpp, image_files.hpp)
// and records what it found in the volume's `resolved`; `qmctl render` offline finds nothing
// and says so. A VM may be defined before its claims exist; it starts only once they do.
#include "daemon/storage/places.hpp"
#include "policy/spec.hpp"
#include "policy/spec_error.hpp"

namespace qmd::daemon {

// Fills `resolved` for every persistentVolumeClaim, dataVolume and containerDisk volume it
// finds; one error per volume it cannot, at the volume's field, naming the VM, the volume and
// what was looked for.
policy::SpecErrors resolve_volume_sources(policy::VmSpec& spec, const storage::Places& places);

// Whether volume `v` is backed by claim `claim` / image `ref` (for refusing deletes).
bool uses_claim(const policy::VmSpec& spec, const std::string& claim);
bool uses_image(const policy::VmSpec& spec, const std::string& ref);

}  // namespace qmd::daemon
