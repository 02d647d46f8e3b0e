#pragma once
// Every VM this qmd knows, by name: defined from the store at start (and adopted when still
// running), created, updated and deleted through the API. Lives on the loop thread.
#include <boost/asio/awaitable.hpp>
#include <expected>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/runtime/context.hpp"
#include "daemon/runtime/op_error.hpp"
#include "daemon/runtime/vm.hpp"

namespace qmd::daemon {

class Registry {
 public:
  explicit Registry(DaemonContext& ctx) : ctx_(ctx) {}

  // Loads every stored VM, adopts the ones still running, and starts the ones whose
  // runStrategy is Always (or RerunOnFailure after a crash). Returns what went wrong per VM.
  asio::awaitable<std::vector<std::string>> load();

  std::shared_ptr<Vm> find(const std::string& name) const;
  std::vector<std::shared_ptr<Vm>> all() const;

  // A new VM from a spec text; Conflict when the name exists. The spec must render on this
  // host (a bad spec never reaches QEMU); nothing is stored when it does not.
  asio::awaitable<std::expected<std::shared_ptr<Vm>, OpError>> create(std::string text,
                                                                      std::string file);
  asio::awaitable<OpResult> remove(const std::string& name, bool force);

 private:
  DaemonContext& ctx_;
  std::map<std::string, std::shared_ptr<Vm>> vms_;
};

std::string new_uuid();

}  // namespace qmd::daemon
