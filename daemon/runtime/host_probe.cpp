#include "daemon/runtime/host_probe.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json/parse.hpp>

#include "daemon/async/blocking.hpp"
#include "daemon/runtime/event_bus.hpp"

namespace qmd::daemon {
namespace {

namespace json = boost::json;

struct Probed {
  CachedProbe probe;
  std::string cache_note;  // why it could not be cached
};

// Probes, and caches the answer when the key stayed the same meanwhile (a QEMU replaced
// during the probe leaves the answer uncached: the next start probes again).
Probed probe_and_cache(const Config& config) {
  const ProbeKey before = probe_key(config.qemu_binary);
  // Whole seconds: what the cache keeps, so the time reads the same from either.
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  Probed out{{policy::probe_host(config.qemu_binary), now}, {}};
  if (probe_key(config.qemu_binary) != before) {
    out.cache_note = "not cached: the QEMU binary, kernel or /dev/kvm changed during the probe";
  } else if (auto written =
                 write_probe_cache(probe_cache_path(config.state_dir), before, out.probe);
             !written) {
    out.cache_note = "not cached: " + written.error();
  }
  return out;
}

}  // namespace

std::vector<std::string> changed_caps_fields(const policy::HostCaps& before,
                                             const policy::HostCaps& after) {
  const json::value a = json::parse(policy::host_caps_json(before));
  const json::value b = json::parse(policy::host_caps_json(after));
  std::vector<std::string> changed;
  for (const auto& [key, value] : a.as_object()) {
    const json::value* other = b.as_object().if_contains(key);
    if (other == nullptr || *other != value) {
      changed.emplace_back(key);
    }
  }
  return changed;
}

StartCaps host_caps_at_start(const Config& config) {
  const std::string path = probe_cache_path(config.state_dir);
  const auto started = std::chrono::steady_clock::now();
  auto cached = read_probe_cache(path, probe_key(config.qemu_binary), config.qemu_binary);
  if (cached) {
    spdlog::info("host caps from the probe cache {} (probed {}); probing again in the background",
                 path, format_time(cached->probed_at));
    return StartCaps{
        std::move(cached->caps),
        ProbeStatus{.started_from = "cache", .probed_at = cached->probed_at, .refresh = "pending"}};
  }
  spdlog::info("probing the host ({}): the probe cache {} is not used: {}", config.qemu_binary,
               path, cached.error());
  Probed probed = probe_and_cache(config);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  spdlog::info("host probed in {} ms{}", ms,
               probed.cache_note.empty() ? "" : "; " + probed.cache_note);
  return StartCaps{
      std::move(probed.probe.caps),
      ProbeStatus{.started_from = "probe",
                  .probed_at = probed.probe.probed_at,
                  .cache_note = probed.cache_note.empty() ? cached.error() : probed.cache_note}};
}

void refresh_host_caps(DaemonContext& ctx) {
  if (ctx.probe.refresh != "pending") {
    return;
  }
  auto refresh = [&ctx]() -> asio::awaitable<void> {
    // The comparison too runs on the pool: two JSON documents of some 12 KiB each.
    auto job = [config = ctx.config, before = ctx.host] {
      Probed probed = probe_and_cache(config);
      auto changed = changed_caps_fields(before, probed.probe.caps);
      return std::pair{std::move(probed), std::move(changed)};
    };
    auto result = co_await run_blocking(ctx.blocking, std::move(job));
    auto& [probed, changed] = result;
    if (changed.empty()) {
      ctx.probe.refresh = "same";
      spdlog::info("host probed again in the background: the same as the cache{}",
                   probed.cache_note.empty() ? "" : "; " + probed.cache_note);
    } else {
      ctx.probe.refresh = "changed";
      ctx.host = std::move(probed.probe.caps);
      spdlog::warn(
          "host probed again in the background: {} changed since the cache; qmd "
          "uses the new caps from now on",
          fmt::join(changed, ", "));
    }
    ctx.probe.probed_at = probed.probe.probed_at;
    ctx.probe.cache_note = probed.cache_note;
  };
  asio::co_spawn(ctx.executor, std::move(refresh), asio::detached);
}

}  // namespace qmd::daemon
