#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

void BaseConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  auto& a = out.argv;
  a.add("-name", fmt::format("guest={},debug-threads=on", qemu_escape(spec.name)));
  if (spec.domain.firmware.uuid) {
    a.add("-uuid", *spec.domain.firmware.uuid);
  }
  // qmd starts every VM paused and resumes it over QMP once pinning and sidecars are in place.
  a.add("-S");
  a.add("-nodefaults");
  a.add("-no-user-config");
  a.add("-msg", "timestamp=on");
  // QEMU's own filter on top of the one qmd installs before execve: QEMU must never fork,
  // exec, raise privileges or change resource limits.
  a.add("-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  a.add("-chardev", fmt::format("socket,id=charmonitor,path={},server=on,wait=off",
                                qemu_escape(paths_.qmp_socket())));
  a.add("-mon", "chardev=charmonitor,id=monitor,mode=control");
  // Graphics, when wanted, go to a VNC unix socket (devices); never a local window.
  a.add("-display", "none");
  // Boot only from devices that carry a bootindex (bootOrder), as libvirt does.
  a.add("-boot", "strict=on");
}

}  // namespace qmd::cmdline
