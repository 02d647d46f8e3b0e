#include "daemon/runtime/start_decisions.hpp"

#include <fmt/format.h>

namespace qmd::daemon {

StartFrom start_from(bool incoming, bool has_saved_state) {
  if (incoming) {
    return StartFrom::migration;
  }
  return has_saved_state ? StartFrom::saved_state : StartFrom::boot;
}

bool starts_paused(StartFrom from, bool saved_paused, bool start_strategy_paused) {
  switch (from) {
    case StartFrom::saved_state:
      return saved_paused;
    case StartFrom::migration:
      return false;
    case StartFrom::boot:
      break;
  }
  return start_strategy_paused;
}

std::optional<std::string> saved_state_refusal(const std::string& vm, const std::string& saved_at,
                                               const std::string& argv_now,
                                               const std::string& argv_saved) {
  if (argv_now == argv_saved) {
    return std::nullopt;
  }
  return fmt::format(
      "VM {}: its state was saved at {} under another QEMU command line (the definition, "
      "qmd.yaml, the presets or qmd changed since); undo the change and start it again, or "
      "`qmctl discard-saved {}` to boot afresh",
      vm, saved_at, vm);
}

std::string describe(const std::string& vm, const StartFailure& failure) {
  return fmt::format("VM {}: start failed at {}: {}", vm, failure.step, failure.message);
}

OpError::Code start_failure_code(std::string_view described) {
  const bool locked = described.find("Failed to get \"write\" lock") != std::string_view::npos;
  return locked ? OpError::Code::conflict : OpError::Code::failed;
}

}  // namespace qmd::daemon
