#pragma once
// The one error type of the policy layer: a field path, what is wrong and what to do,
// and where in the source document it is.
#include <string>
#include <vector>

namespace qmd::policy {

struct Mark {
  int line = 0;    // 1-based; 0 when unknown (a field that is absent from the document)
  int column = 0;  // 1-based
};

struct SpecError {
  std::string path;     // "spec.template.spec.domain.devices.disks[1].cache"
  std::string message;  // "\"fast\" is not one of none, writethrough, writeback"
  std::string file;     // "vm.yaml"
  Mark mark;

  // `path: message (file:line:col)`; the position is left out when unknown.
  std::string to_string() const;
};

using SpecErrors = std::vector<SpecError>;

// All errors, one per line.
std::string to_string(const SpecErrors& errors);

}  // namespace qmd::policy
