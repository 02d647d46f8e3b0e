#pragma once
// The source side of a live migration once the destination is ready: one SourceMigration per
// outgoing migration, holding the VM's lock, run as phases that each end in one Step. The
// decisions are daemon/migration/decisions.hpp's, the talk with the destination
// daemon/migration/source_handover.hpp's; what is left here is acting on QEMU and the record.
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

class SourceMigration : public std::enable_shared_from_this<SourceMigration> {
 public:
  // How a phase ended.
  struct Step {
    enum class Kind {
      next,         // go on with the next phase (or the next look)
      again,        // look again at once (an event, a cancel sent, the switch handled)
      transferred,  // every byte sent: hand over
      handed_over,  // the destination runs the guest
      failed,       // roll back (status: failed or cancelled)
      split,        // failed past the postcopy switch: neither copy may run
      unknown,      // the destination stopped answering at the hand-over: paused here
    };
    Kind kind = Kind::next;
    std::string status = "failed";
    std::string why{};
  };

  SourceMigration(std::shared_ptr<Vm> vm, AsyncMutex::Guard guard, std::shared_ptr<Vm::Run> run,
                  std::shared_ptr<Operation> op, Operations& operations, Vm::MigrateOptions options,
                  Vm::MigrationTarget target, bool was_running);

  // Follows the migration to its end (detached from the request that started it).
  static void start(std::shared_ptr<SourceMigration> migration);

 private:
  boost::asio::awaitable<void> follow();
  boost::asio::awaitable<Step> set_up();
  boost::asio::awaitable<Step> copy_storage();
  boost::asio::awaitable<Step> transfer();
  boost::asio::awaitable<Step> look();
  boost::asio::awaitable<Step> at_switch();
  boost::asio::awaitable<Step> switchover();
  boost::asio::awaitable<void> tune(qmp::MigrationInfo info);
  boost::asio::awaitable<Step> hand_over();
  boost::asio::awaitable<Step> recheck_switch(Step step);
  boost::asio::awaitable<void> roll_back(Step step);
  boost::asio::awaitable<void> succeeded();
  boost::asio::awaitable<void> wait_a_moment();
  void end_split(const Step& step);
  void end_paused(const char* phase, const std::string& why);
  void mark_switched();
  void end_outgoing();
  bool source_gone() const { return run_->migration.qemu_gone || run_->exited.is_set(); }

  std::shared_ptr<Vm> vm_;
  AsyncMutex::Guard guard_;  // the VM's lock, for the whole migration
  std::shared_ptr<Vm::Run> run_;
  std::shared_ptr<Operation> op_;
  Operations& operations_;
  Vm::MigrateOptions options_;
  Vm::MigrationTarget target_;
  bool was_running_;
  std::uint32_t downtime_limit_;
  bool postcopy_started_ = false;   // migrate-start-postcopy asked for
  bool postcopy_switched_ = false;  // the source's CPUs stopped for good: no way back
  bool committed_ = false;          // the destination runs the guest (postcopy: early)
  bool cancel_sent_ = false;
  std::int64_t raised_at_pass_ = 0;
  std::string ended_why_;  // why qmd cancelled: on request, or the timeout
  // qmd's own clock beside QEMU's figures (which QEMU 7.2 leaves at 0 when block mirrors ran).
  std::chrono::steady_clock::time_point began_, sending_since_, last_check_;
  std::optional<std::chrono::steady_clock::time_point> paused_at_, handed_over_at_;
  std::shared_ptr<boost::asio::steady_timer> wake_;
};

}  // namespace qmd::daemon
