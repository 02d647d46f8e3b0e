#pragma once
// Remembers where each field of a spec document stood, so that errors found after parsing
// (validation, host checks) still name `file:line:column`.
#include <map>
#include <string>
#include <string_view>

#include "policy/spec_error.hpp"

namespace qmd::policy {

class SourceMap {
 public:
  // file: the name shown in errors; template_prefix: "spec.template.spec" for a
  // VirtualMachine, "spec" for a VirtualMachineInstance.
  void set_file(std::string file) { file_ = std::move(file); }
  void set_template_prefix(std::string prefix) { template_prefix_ = std::move(prefix); }
  const std::string& file() const { return file_; }
  const std::string& template_prefix() const { return template_prefix_; }

  // Records a full document path such as "spec.template.spec.domain.cpu.cores".
  void record(std::string path, Mark mark) { marks_[std::move(path)] = mark; }

  // Full path of a field given relative to the VMI spec ("domain.cpu.cores").
  std::string spec_path(std::string_view relative) const;

  // The mark of `full_path`, or of its nearest recorded ancestor; {0,0} when none.
  Mark find(std::string_view full_path) const;

  // An error at a field relative to the VMI spec ("domain.devices.disks[1].cache").
  SpecError error_at(std::string_view relative, std::string message) const;
  // An error at a full document path ("metadata.name", "spec.instancetype.name").
  SpecError error_at_full(std::string_view full_path, std::string message) const;

 private:
  std::string file_ = "<spec>";
  std::string template_prefix_ = "spec.template.spec";
  std::map<std::string, Mark, std::less<>> marks_;
};

}  // namespace qmd::policy
