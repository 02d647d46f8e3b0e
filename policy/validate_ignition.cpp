// The kubevirt.io/ignitiondata annotation's size, before it becomes a file QEMU hands the
// guest through fw_cfg.
#include <fmt/format.h>

#include "policy/ignition.hpp"

namespace qmd::policy {

void validate_ignition(const VmSpec& spec, SpecErrors& errors) {
  const auto data = ignition_data(spec);
  if (!data || data->size() <= kIgnitionMaxBytes) {
    return;
  }
  // Where KubeVirt reads it: a VMI's metadata, a VM's template (qmd also takes the VM's own
  // metadata; the error then points at the nearest field recorded).
  std::string path = fmt::format("metadata.annotations.{}", kIgnitionAnnotation);
  if (spec.kind == "VirtualMachine") {
    path = "spec.template." + path;
  }
  errors.push_back(spec.source.error_at_full(
      path, fmt::format("is {} bytes, over the {} KiB qmd passes to the guest (Kubernetes' own "
                        "limit for all of an object's annotations)",
                        data->size(), kIgnitionMaxBytes / 1024)));
}

}  // namespace qmd::policy
