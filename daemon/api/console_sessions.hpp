#pragma once
// One console session per VM: QEMU's serial socket serves one client at a time, and the
// ones queued behind it would wait on a backlog forever. A second client is told who holds
// the console (uid/pid) and since when. The lease frees the VM's slot when it goes.
#include <chrono>
#include <expected>
#include <map>
#include <memory>
#include <string>

#include "daemon/api/http_types.hpp"

namespace qmd::daemon::api {

class ConsoleSessions {
 public:
  struct Holder {
    PeerCred peer;
    std::chrono::system_clock::time_point since;
  };
  // Held by the stream for as long as the session lasts; releases the VM on destruction.
  class Lease {
   public:
    Lease(std::weak_ptr<std::map<std::string, Holder>> table, std::string vm)
        : table_(std::move(table)), vm_(std::move(vm)) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    std::weak_ptr<std::map<std::string, Holder>> table_;
    std::string vm_;
  };

  // The lease for `vm`, or who holds it now.
  std::expected<std::shared_ptr<Lease>, Holder> acquire(const std::string& vm,
                                                        const PeerCred& peer);
  std::size_t active() const { return table_->size(); }

 private:
  std::shared_ptr<std::map<std::string, Holder>> table_ =
      std::make_shared<std::map<std::string, Holder>>();
};

// "the console of VM web1 is in use by uid 1001 (pid 4242) since 2026-12-05T23:01:02Z;
// one session per VM: ..." for the 409.
std::string console_busy_message(const std::string& vm, const ConsoleSessions::Holder& holder);

}  // namespace qmd::daemon::api
