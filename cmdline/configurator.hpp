#pragma once
// One concern of the command line (KubeVirt's converter pattern): a configurator gets
// already-resolved facts in its constructor and appends its options to the result.
#include "cmdline/render.hpp"
#include "policy/spec.hpp"

namespace qmd::cmdline {

class Configurator {
 public:
  virtual ~Configurator() = default;
  // `spec` has defaults applied and is valid for the host.
  virtual void configure(const policy::VmSpec& spec, RenderResult& out) const = 0;
};

}  // namespace qmd::cmdline
