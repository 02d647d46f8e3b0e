#pragma once
// An I/O thread object (-object iothread / object-add) for virtio disks and virtio-scsi.
#include <string>

#include "devices/props.hpp"

namespace qmd::devices {

inline Component iothread(const std::string& id) { return {"iothread", {{"id", id}}}; }

}  // namespace qmd::devices
