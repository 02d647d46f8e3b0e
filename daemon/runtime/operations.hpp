#pragma once
// Long-running operations (a live migration) that the API hands back as an id to follow:
// GET /v1/operations/{id} shows phase and progress, DELETE asks to cancel. Lives on the loop
// thread; finished operations are kept (the last kKeepFinished) so a caller that polls late
// still learns how it ended.
#include <cstdint>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "daemon/async/sync.hpp"

namespace qmd::daemon {

// What a live migration has done so far. Each figure is set once known and kept when a later
// look at QEMU lacks it: a cancelled or failed migration still shows the last ones it had.
struct MigrationProgress {
  std::string destination{};
  std::optional<std::int64_t> storage_bytes_done{};  // copyStorage: the disks' mirrors
  std::optional<std::int64_t> storage_bytes_total{};
  std::optional<std::string> status{};  // QEMU's migration status, from the first look on
  std::optional<std::int64_t> bytes_sent{}, bytes_remaining{}, bytes_total{};  // RAM
  std::optional<std::int64_t> dirty_pages_rate{}, passes{};
  std::optional<std::int64_t> expected_downtime_ms{}, downtime_ms{};
  std::optional<std::int64_t> total_time_ms{}, setup_time_ms{};
  std::optional<std::uint32_t> downtime_limit_ms{};
  std::optional<std::int64_t> elapsed_ms{}, paused_ms{};  // once handed over
};

// Kind-specific figures; none for a kind that has none.
using OperationProgress = std::variant<std::monostate, MigrationProgress>;

struct Operation {
  explicit Operation(asio::any_io_executor ex) : done(std::move(ex)) {}

  std::string id;
  std::string kind;     // "migrate"
  std::string vm;       // the VM it acts on
  std::string status = "running";  // running | succeeded | failed | cancelled
  std::string phase;    // kind-specific: "connecting", "transferring", "switchover", ...
  std::string error;    // set when failed or cancelled: what happened, in words
  OperationProgress progress;
  std::string created_at;
  std::string finished_at;
  bool cancel_requested = false;
  std::string no_cancel;  // set once cancelling is no longer possible: why (postcopy switched)
  std::function<void()> on_cancel;  // the running operation's way to stop early
  Latch done;

  bool finished() const { return status != "running"; }
};

class Operations {
 public:
  explicit Operations(asio::any_io_executor ex) : executor_(std::move(ex)) {}

  std::shared_ptr<Operation> create(std::string kind, std::string vm);
  std::shared_ptr<Operation> find(const std::string& id) const;
  // The running operation on `vm`, if any (one at a time per VM).
  std::shared_ptr<Operation> running_on(const std::string& vm) const;
  const std::deque<std::shared_ptr<Operation>>& all() const { return ops_; }

  // Ends `op` with `status` ("succeeded", "failed", "cancelled") and wakes its waiters.
  void finish(Operation& op, std::string status, std::string error = {});
  // Asks `op` to stop; the error says why it cannot (finished, or past the point of return).
  std::expected<void, std::string> cancel(Operation& op);

 private:
  static constexpr std::size_t kKeepFinished = 64;
  asio::any_io_executor executor_;
  std::deque<std::shared_ptr<Operation>> ops_;
  unsigned next_ = 1;
};

}  // namespace qmd::daemon
