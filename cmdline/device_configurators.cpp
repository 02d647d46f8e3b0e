#include "cmdline/device_configurators.hpp"

#include "cmdline/devices_layout.hpp"
#include "devices/agent.hpp"
#include "devices/balloon.hpp"
#include "devices/controllers.hpp"
#include "devices/graphics.hpp"
#include "devices/input.hpp"
#include "devices/iothread.hpp"
#include "devices/memory.hpp"
#include "devices/rng.hpp"
#include "devices/serial.hpp"
#include "devices/watchdog.hpp"

namespace qmd::cmdline {

namespace {
bool transitional(const policy::VmSpec& spec) {
  return spec.domain.devices.use_virtio_transitional.value_or(false);
}
}  // namespace

void PciControllersConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  out.argv.append(devices::root_port_options(layout.pci));
  for (const auto& id : layout.iothreads) {
    out.argv.append({devices::object_option(devices::iothread(id))});
  }
  if (layout.usb) {
    out.argv.append({devices::device_option(devices::usb_controller(*layout.usb))});
  }
  if (layout.virtio_serial) {
    out.argv.append({devices::device_option(
        devices::virtio_serial_controller(*layout.virtio_serial, transitional(spec)))});
  }
  if (layout.scsi) {
    out.argv.append({devices::device_option(
        devices::scsi_controller(*layout.scsi, layout.scsi_iothread, transitional(spec)))});
  }
  if (layout.sata) {
    out.argv.append({devices::device_option(devices::sata_controller(*layout.sata))});
  }
}

void InputsConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  for (const auto& input : inputs_to_render(spec)) {
    devices::InputParams params{input.name, input.type, input_bus(input), std::nullopt};
    if (const auto it = layout.inputs.find(input.name); it != layout.inputs.end()) {
      params.pci = it->second;
    }
    out.argv.append({devices::device_option(devices::input_device(params))});
  }
}

void ConsoleConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  if (spec.domain.devices.autoattach_serial_console.value_or(true)) {
    out.argv.append(devices::serial_console_options(paths_.console_socket()));
  }
  // qmd always talks to the guest agent (shutdown, fs-freeze, addresses) when there is one.
  out.argv.append(devices::agent_channel_options(paths_.qga_socket()));
}

void GraphicsConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  if (spec.domain.devices.autoattach_graphics_device.value_or(true)) {
    out.argv.append(devices::graphics_options(facts_.q35, paths_.vnc_socket(),
                                              spec.domain.devices.video_type.value_or("vga")));
  }
}

void MiscDevicesConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  if (layout.balloon) {
    out.argv.append(
        {devices::device_option(devices::balloon_device(*layout.balloon, transitional(spec)))});
  }
  if (layout.rng) {
    out.argv.append({devices::object_option(devices::rng_backend()),
                     devices::device_option(devices::rng_device(*layout.rng, transitional(spec)))});
  }
  if (layout.watchdog) {
    const auto& w = *spec.domain.devices.watchdog;
    out.argv.append(
        devices::watchdog_options(w.model, w.action.value_or("reset"), *layout.watchdog));
  }
}

void VirtioMemConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto layout = layout_devices(spec, facts_);
  if (!layout.virtio_mem) {
    return;
  }
  const auto& mem = spec.domain.memory;
  const devices::VirtioMemParams params{*mem.max_guest - mem.guest.value_or(0),
                                        mem.hugepages_page_size, *layout.virtio_mem,
                                        transitional(spec)};
  out.argv.append(devices::virtio_mem_options(devices::virtio_mem_parts(params)));
}

std::vector<std::unique_ptr<Configurator>> device_configurators(const DeviceFacts& facts,
                                                                const VmPaths& paths) {
  std::vector<std::unique_ptr<Configurator>> out;
  out.push_back(std::make_unique<PciControllersConfigurator>(facts, paths));
  out.push_back(std::make_unique<DisksConfigurator>(facts, paths));
  out.push_back(std::make_unique<NicsConfigurator>(facts, paths));
  out.push_back(std::make_unique<InputsConfigurator>(facts, paths));
  out.push_back(std::make_unique<ConsoleConfigurator>(facts, paths));
  out.push_back(std::make_unique<GraphicsConfigurator>(facts, paths));
  out.push_back(std::make_unique<MiscDevicesConfigurator>(facts, paths));
  out.push_back(std::make_unique<TpmConfigurator>(facts, paths));
  out.push_back(std::make_unique<VirtioMemConfigurator>(facts, paths));
  return out;
}

}  // namespace qmd::cmdline
