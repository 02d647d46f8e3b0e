#include "daemon/runtime/operations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "daemon/runtime/event_bus.hpp"

namespace qmd::daemon {

std::shared_ptr<Operation> Operations::create(std::string kind, std::string vm) {
  auto op = std::make_shared<Operation>(executor_);
  // The counter keeps ids short and ordered; the time part keeps them unique across restarts.
  const auto now = std::chrono::system_clock::now();
  op->id = fmt::format("{}-{}-{}", kind, std::chrono::duration_cast<std::chrono::seconds>(
                                             now.time_since_epoch()).count() % 100000,
                       next_++);
  op->kind = std::move(kind);
  op->vm = std::move(vm);
  op->created_at = format_time(now);
  ops_.push_back(op);
  // Forget the oldest finished ones beyond the limit; running ones always stay.
  std::size_t finished = static_cast<std::size_t>(
      std::ranges::count_if(ops_, [](const auto& o) { return o->finished(); }));
  for (auto it = ops_.begin(); finished > kKeepFinished && it != ops_.end();) {
    if ((*it)->finished()) {
      it = ops_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
  return op;
}

std::shared_ptr<Operation> Operations::find(const std::string& id) const {
  for (const auto& op : ops_) {
    if (op->id == id) {
      return op;
    }
  }
  return nullptr;
}

std::shared_ptr<Operation> Operations::running_on(const std::string& vm) const {
  for (const auto& op : ops_) {
    if (op->vm == vm && !op->finished()) {
      return op;
    }
  }
  return nullptr;
}

void Operations::finish(Operation& op, std::string status, std::string error) {
  if (op.finished()) {
    return;
  }
  op.status = std::move(status);
  op.error = std::move(error);
  op.finished_at = format_time(std::chrono::system_clock::now());
  op.on_cancel = nullptr;
  op.done.set();
}

std::expected<void, std::string> Operations::cancel(Operation& op) {
  if (op.finished()) {
    return std::unexpected(fmt::format("operation {} already {}", op.id, op.status));
  }
  if (!op.no_cancel.empty()) {
    return std::unexpected(fmt::format("operation {} cannot be cancelled: {}", op.id,
                                       op.no_cancel));
  }
  op.cancel_requested = true;
  if (op.on_cancel) {
    op.on_cancel();
  }
  return {};
}

}  // namespace qmd::daemon
