#include "policy/host_probe_kvm.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/kvm.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/unique_fd.hpp"

namespace qmd::policy {
namespace {

std::string user_name(uid_t uid) {
  const passwd* pw = ::getpwuid(uid);
  return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

std::string group_name(gid_t gid) {
  const group* gr = ::getgrgid(gid);
  return gr != nullptr ? gr->gr_name : std::to_string(gid);
}

}  // namespace

std::string kvm_access_note(const std::string& device, mode_t mode, const std::string& owner,
                            const std::string& group) {
  const unsigned perms = mode & 0777U;
  if ((perms & 06U) == 06U) {
    return {};
  }
  const std::string where = fmt::format("{} is {:04o} {}:{}", device, perms, owner, group);
  if ((perms & 060U) == 060U && group != "root") {
    // A root qmd gives each VM's QEMU the device's group; a qmd that is not root runs QEMU
    // as itself.
    return fmt::format("{}: a qmd run as root gives each VM's QEMU group {}; a qmd run as "
                       "another user needs that user in group {}",
                       where, group, group);
  }
  return fmt::format("{}: a QEMU dropped to an unprivileged uid cannot open it; make it 0660 "
                     "root:kvm (udev rule: a root qmd gives each VM's QEMU that group)",
                     where);
}

void probe_kvm(HostCaps& caps, const std::string& device) {
  struct stat st {};
  if (::stat(device.c_str(), &st) != 0) {
    caps.kvm_present = false;
    caps.kvm_usable = false;
    caps.kvm_detail = fmt::format("{} does not exist ({}): load kvm_intel or kvm_amd, or enable "
                                  "virtualization in the firmware",
                                  device, std::strerror(errno));
    return;
  }
  caps.kvm_present = true;
  const std::string access =
      kvm_access_note(device, st.st_mode, user_name(st.st_uid), group_name(st.st_gid));
  const UniqueFd kvm(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm) {
    caps.kvm_detail = fmt::format("cannot open {}: {}", device, std::strerror(errno));
  } else if (const int api = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0); api != KVM_API_VERSION) {
    caps.kvm_detail = fmt::format("{} has KVM API version {}, QEMU needs {}", device, api,
                                  KVM_API_VERSION);
  } else if (const UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0)); !vm) {
    caps.kvm_detail = fmt::format("KVM_CREATE_VM on {} failed: {}", device, std::strerror(errno));
  } else {
    caps.kvm_usable = true;
  }
  if (!access.empty()) {
    caps.kvm_detail = caps.kvm_detail.empty() ? access
                                              : fmt::format("{}; {}", caps.kvm_detail, access);
  }
}

void probe_kvm_tsc(HostCaps& caps, const std::string& device) {
  const UniqueFd kvm(::open(device.c_str(), O_RDWR | O_CLOEXEC));
  if (!kvm || ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
    return;
  }
  caps.tsc_scaling = ::ioctl(kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_TSC_CONTROL) > 0;
  if (::ioctl(kvm.get(), KVM_CHECK_EXTENSION, KVM_CAP_GET_TSC_KHZ) <= 0) {
    return;
  }
  const UniqueFd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  if (!vm) {
    return;
  }
  const UniqueFd vcpu(::ioctl(vm.get(), KVM_CREATE_VCPU, 0));
  if (!vcpu) {
    return;
  }
  const int khz = ::ioctl(vcpu.get(), KVM_GET_TSC_KHZ, 0);
  if (khz > 0) {
    caps.tsc_khz = static_cast<std::uint64_t>(khz);
  }
}

}  // namespace qmd::policy
