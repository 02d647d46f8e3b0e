#pragma once
// vCPU hotplug: device_add of a CPU at a socket/core/thread position, with the driver and
// props that query-hotpluggable-cpus reports for an empty slot (e.g. qemu64-x86_64-cpu).
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>

#include "devices/qmp_call.hpp"

namespace qmd::devices {

struct CpuSlot {
  std::uint32_t socket = 0, core = 0, thread = 0;
};

std::string vcpu_id(const CpuSlot& slot);  // "vcpu-S-C-T"
// `props`: the slot's "props" from query-hotpluggable-cpus (socket-id, core-id, ...).
QmpCall vcpu_add(const std::string& driver, const boost::json::object& props);
QmpCall vcpu_add(const std::string& driver, const CpuSlot& slot);
QmpCall vcpu_del(const CpuSlot& slot);

}  // namespace qmd::devices
