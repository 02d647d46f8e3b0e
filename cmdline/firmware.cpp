#include <boost/json.hpp>
#include <fmt/format.h>

#include "cmdline/core_configurators.hpp"

namespace qmd::cmdline {

namespace {

// -blockdev in JSON form: paths need no comma escaping.
std::string pflash_storage(const std::string& node, const std::string& path, bool read_only) {
  boost::json::object o{{"driver", "file"},
                        {"filename", path},
                        {"node-name", node + "-storage"},
                        {"auto-read-only", true},
                        {"discard", "unmap"}};
  if (read_only) {
    o["read-only"] = true;
  }
  return boost::json::serialize(o);
}

std::string pflash_format(const std::string& node, bool read_only) {
  return boost::json::serialize(boost::json::object{{"node-name", node},
                                                    {"read-only", read_only},
                                                    {"driver", "raw"},
                                                    {"file", node + "-storage"}});
}

}  // namespace

void FirmwareConfigurator::configure(const policy::VmSpec& spec, RenderResult& out) const {
  const auto& fw = spec.domain.firmware;
  if (fw.bootloader == policy::BootloaderKind::efi) {
    const bool persistent = fw.efi.persistent.value_or(false);
    const std::string vars = paths_.nvram(persistent);
    // Each VM gets its own VARS copy (its boot entries and secure-boot keys); the code is
    // shared and read-only. The directory it goes in is the VM's run or state dir, which the
    // daemon makes (and which the QEMU user must not own: only the copy is QEMU's).
    out.prepare.push_back(
        {FilePrep::Kind::copy_if_missing, image_.vars, vars, 0, "raw", 0600});
    out.argv.add("-blockdev", pflash_storage("pflash0", image_.code, true));
    out.argv.add("-blockdev", pflash_format("pflash0", true));
    out.argv.add("-blockdev", pflash_storage("pflash1", vars, false));
    out.argv.add("-blockdev", pflash_format("pflash1", false));
    if (fw.efi.secure_boot.value_or(true)) {
      // Only SMM code may write the VARS flash, so the guest OS cannot tamper with the keys.
      out.argv.add("-global", "driver=cfi.pflash01,property=secure,value=on");
    }
  }
  if (fw.kernel_boot) {
    const auto& k = *fw.kernel_boot;
    out.argv.add("-kernel", k.kernel_path);
    if (!k.initrd_path.empty()) {
      out.argv.add("-initrd", k.initrd_path);
    }
    if (!k.kernel_args.empty()) {
      out.argv.add("-append", k.kernel_args);
    }
  }
}

}  // namespace qmd::cmdline
