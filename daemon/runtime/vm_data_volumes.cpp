// dataVolumeTemplates: the claims a VM's templates name are made when missing (at define and
// at each start), and remembered as the VM's own, so that deleting the VM deletes them.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/vm.hpp"
#include "daemon/storage/data_volumes.hpp"
#include "daemon/storage/places.hpp"

namespace qmd::daemon {

namespace {

// qemu-img and curl write beside a log of their own per operation.
storage::Tools storage_tools(const DaemonContext& ctx, const std::string& vm) {
  static std::atomic<unsigned> next{0};
  storage::Tools tools;
  tools.qemu_img = storage::qemu_img_beside(ctx.config.qemu_binary);
  tools.log = fmt::format("{}/storage-{}-{}-{}.log", ctx.config.run_dir, vm, ::getpid(), next++);
  if (ctx.qemu_user) {
    tools.owner = std::pair{ctx.qemu_user->uid, ctx.qemu_user->gid};
  }
  return tools;
}

}  // namespace

asio::awaitable<OpResult> Vm::provision() {
  auto guard = co_await lock_.lock();
  auto made = co_await make_data_volumes();
  co_return made;
}

asio::awaitable<OpResult> Vm::make_data_volumes() {
  auto parsed = spec();
  if (!parsed) {
    co_return std::unexpected(parsed.error());
  }
  if (parsed->data_volume_templates.empty()) {
    co_return OpResult{};
  }
  auto tools = storage_tools(ctx_, name_);
  auto job = [places = storage::places_of(ctx_.config),
              templates = parsed->data_volume_templates, tools] {
    auto made = storage::make_data_volumes(places, templates, tools, storage::Download{});
    (void)::unlink(tools.log.c_str());
    return made;
  };
  auto made = co_await run_blocking(ctx_.blocking, std::move(job));
  if (!made) {
    const auto& failure = made.error();
    policy::SpecErrors errors{parsed->source.error_at_full(
        fmt::format("spec.dataVolumeTemplates[{}].{}", failure.index, failure.field),
        fmt::format("VM {}: {}", name_, failure.message))};
    co_return std::unexpected(
        OpError{OpError::Code::bad_spec, policy::to_string(errors), std::move(errors)});
  }
  if (made->empty()) {
    co_return OpResult{};
  }
  for (const auto& claim : *made) {
    if (std::ranges::find(record_.owned_claims, claim) == record_.owned_claims.end()) {
      record_.owned_claims.push_back(claim);
    }
  }
  save_record();
  publish("ClaimsCreated",
          fmt::format("made claim {} from dataVolumeTemplates (deleted with the VM)",
                      fmt::join(*made, ", ")));
  co_return OpResult{};
}

}  // namespace qmd::daemon
