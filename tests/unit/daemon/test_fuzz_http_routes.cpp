// The HTTP fuzz target's route table (fuzz_http_routes.hpp) is qmd's: the real routes, added
// as qmd adds them, give the same (method, pattern) list in the same order. And
// Router::match, which the target calls, answers what dispatch answers.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <filesystem>
#include <string>

#include "daemon/api/routes.hpp"
#include "daemon/api/routes_host_shutdown.hpp"
#include "daemon/runtime/host_shutdown.hpp"
#include "tests/unit/daemon/fuzz_http_routes.hpp"

using namespace qmd::daemon;
using namespace qmd::daemon::api;

namespace {

std::string verb_name(http::verb method) { return std::string(http::to_string(method)); }

}  // namespace

TEST_CASE("fuzz routes: the fuzz target's table is qmd's route table, in order") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("qmd-fuzz-routes-" + std::to_string(::getpid()));
  auto store = VmStore::open(dir.string());
  REQUIRE(store);
  boost::asio::io_context loop(1);
  boost::asio::thread_pool blocking(1);
  EventBus events(loop.get_executor());
  auto presets = qmd::policy::PresetCatalog::load();
  REQUIRE(presets);
  DaemonContext ctx{loop.get_executor(), blocking, Config{}, qmd::policy::HostCaps{}, *presets,
                    *store, events, std::nullopt, {}, {}};
  Registry registry(ctx);
  Operations operations(loop.get_executor());
  HostShutdown host_shutdown(ctx, registry);
  Router router;  // as qmd's main() builds it
  add_host_routes(router, ctx);
  add_vm_routes(router, registry, ctx);
  add_stream_routes(router, registry, ctx);
  add_guest_routes(router, registry);
  add_hotplug_routes(router, registry);
  add_storage_routes(router, registry, ctx);
  add_migration_routes(router, registry, operations);
  add_host_shutdown_routes(router, host_shutdown);
  add_screen_routes(router, registry, ctx);
  add_media_routes(router, registry);

  const auto real = router.patterns();
  const auto& fuzzed = qmd::test::kApiRoutes;
  CHECK(real.size() == std::size(fuzzed));
  for (std::size_t i = 0; i < std::min(real.size(), std::size(fuzzed)); ++i) {
    INFO("route " << i << ": qmd has " << verb_name(real[i].first) << " " << real[i].second);
    CHECK(real[i].first == fuzzed[i].method);
    CHECK(real[i].second == fuzzed[i].pattern);
  }
  blocking.join();
  std::filesystem::remove_all(dir);
}

TEST_CASE("router match: params, first route wins, 405's methods, 404") {
  Router router;
  const Handler none = [](Request) -> asio::awaitable<Response> { co_return Response{}; };
  router.add(http::verb::get, "/v1/vms/{name}", none);
  router.add(http::verb::delete_, "/v1/vms/{name}", none);
  router.add(http::verb::post, "/v1/vms/{name}/disks", none);
  router.add(http::verb::delete_, "/v1/vms/{name}/disks/{disk}", none);

  const auto get = router.match(http::verb::get, "/v1/vms/web1");
  REQUIRE(get.handler != nullptr);
  CHECK(get.params == std::map<std::string, std::string>{{"name", "web1"}});
  const auto disk = router.match(http::verb::delete_, "/v1/vms/web1/disks/d 1");
  REQUIRE(disk.handler != nullptr);
  CHECK(disk.params.at("disk") == "d 1");

  const auto put = router.match(http::verb::put, "/v1/vms/web1");
  CHECK(put.handler == nullptr);
  CHECK(put.allowed == std::vector<std::string>{"GET", "DELETE"});
  CHECK(put.params.empty());

  CHECK(router.match(http::verb::get, "/v1/vms/").handler == nullptr);  // empty name
  CHECK(router.match(http::verb::get, "/v1/vms/").allowed.empty());
  CHECK(router.match(http::verb::get, "/v1/vms/web1/").allowed.empty());  // trailing slash
  CHECK(router.match(http::verb::get, "").allowed.empty());
}
