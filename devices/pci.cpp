#include "devices/pci.hpp"

#include <fmt/format.h>

namespace qmd::devices {

namespace {
constexpr std::uint32_t first_root_port_slot = 0x2;
constexpr std::uint32_t first_pc_slot = 0x3;
constexpr std::uint32_t first_port_number = 0x10;
}  // namespace

PciSlot PciTopology::allocate() {
  const std::uint32_t index = next_++;
  if (!q35_) {
    return {"pci.0", fmt::format("{:#x}", first_pc_slot + index)};
  }
  const std::uint32_t n = index + 1;
  const std::uint32_t slot = first_root_port_slot + index / 8;
  const std::uint32_t function = index % 8;
  const std::string id = fmt::format("pci.{}", n);
  Props props{{"id", id},
              {"chassis", std::int64_t{n}},
              {"port", fmt::format("{:#x}", first_port_number + index)},
              {"bus", std::string("pcie.0")}};
  if (function == 0) {
    props.push_back({"multifunction", true});
    props.push_back({"addr", fmt::format("{:#x}", slot)});
  } else {
    props.push_back({"addr", fmt::format("{:#x}.{:#x}", slot, function)});
  }
  root_ports_.push_back({"pcie-root-port", std::move(props)});
  return {id, "0x0"};
}

std::vector<PciSlot> PciTopology::add_spare(std::uint32_t count) {
  std::vector<PciSlot> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    out.push_back(allocate());
  }
  return out;
}

std::vector<Option> root_port_options(const PciTopology& topology) {
  std::vector<Option> out;
  for (const auto& port : topology.root_ports()) {
    out.push_back(device_option(port));
  }
  return out;
}

}  // namespace qmd::devices
