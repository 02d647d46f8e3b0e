#pragma once
// emptyDisk images: scratch space in a VM's run directory (empty-NAME.img, NAME an identifier)
// that lives as long as one run. The QEMU user owns parts of the run directory, so they go
// through its descriptor, by name, never following a link.
#include <string>

namespace qmd::daemon {

// Removes every empty-*.img in `run_dir` (a link of that name goes, not its target).
void remove_scratch_images(const std::string& run_dir);

}  // namespace qmd::daemon
