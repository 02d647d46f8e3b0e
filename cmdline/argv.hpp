#pragma once
// A QEMU command line as a list of options, each a flag and an optional value, so that
// golden files can show one option per line and the argv stays a plain vector for execve.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "devices/fragment.hpp"
#include "devices/props.hpp"

namespace qmd::cmdline {

// A flag and an optional value ("-machine", "q35,accel=kvm"); the devices layer's type, so
// device fragments append without conversion.
using Option = devices::Option;

class Argv {
 public:
  void add(std::string flag) { options_.push_back({std::move(flag), std::nullopt}); }
  void add(std::string flag, std::string value) {
    options_.push_back({std::move(flag), std::move(value)});
  }
  void append(const std::vector<Option>& more) {
    options_.insert(options_.end(), more.begin(), more.end());
  }

  const std::vector<Option>& options() const { return options_; }
  // The first `flag` option, to adjust a rendered argv (an incoming migration pins the
  // machine type the source resolved); nullptr when there is none.
  Option* find(const std::string& flag) {
    auto it = std::ranges::find(options_, flag, &Option::flag);
    return it == options_.end() ? nullptr : &*it;
  }
  const Option* find(const std::string& flag) const {
    auto it = std::ranges::find(options_, flag, &Option::flag);
    return it == options_.end() ? nullptr : &*it;
  }
  // Flattened for execve, without the binary.
  std::vector<std::string> args() const;
  // One option per line: "-machine q35,accel=kvm".
  std::vector<std::string> lines() const;
  // A shell-quoted single command line (binary first).
  std::string shell(const std::string& binary) const;

 private:
  std::vector<Option> options_;
};

// Comma-joined QEMU option values: key=value pairs; a literal comma in a value is doubled.
// One implementation, shared with the device props.
using devices::qemu_escape;

}  // namespace qmd::cmdline
