#pragma once
// Long-running operations (a live migration) that the API hands back as an id to follow:
// GET /v1/operations/{id} shows phase and progress, DELETE asks to cancel. Lives on the loop
// thread; finished operations are kept (the last kKeepFinished) so a caller that polls late
// still learns how it ended.
#include <boost/json/object.hpp>
#include <deque>
#include <expected>
#include <functional>
#include <memory>
#include <string>

#include "daemon/async/sync.hpp"

namespace qmd::daemon {

struct Operation {
  explicit Operation(asio::any_io_executor ex) : done(std::move(ex)) {}

  std::string id;
  std::string kind;     // "migrate"
  std::string vm;       // the VM it acts on
  std::string status = "running";  // running | succeeded | failed | cancelled
  std::string phase;    // kind-specific: "connecting", "transferring", "switchover", ...
  std::string error;    // set when failed or cancelled: what happened, in words
  boost::json::object progress;  // kind-specific figures (bytes, passes, dirty rate, ...)
  std::string created_at;
  std::string finished_at;
  bool cancel_requested = false;
  std::string no_cancel;  // set once cancelling is no longer possible: why (postcopy switched)
  std::function<void()> on_cancel;  // the running operation's way to stop early
  Latch done;

  bool finished() const { return status != "running"; }
  boost::json::object to_json() const;
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
