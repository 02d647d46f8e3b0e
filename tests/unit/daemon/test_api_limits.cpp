// The API's limits as pure decisions: connection caps, body limits by route, one console
// session per VM.
#include <doctest/doctest.h>

#include "daemon/api/admission.hpp"
#include "daemon/api/body_limits.hpp"
#include "daemon/api/console_sessions.hpp"

using namespace qmd::daemon::api;
namespace http = boost::beast::http;

TEST_CASE("caps: a user up to its per-uid cap, then refused with the key to raise") {
  const ConnectionCaps caps{.max_total = 64, .max_per_user = 2};
  ConnectionCounts open;
  CHECK_FALSE(refuse_connection(caps, open, 1001, false));
  open.total = 2;
  open.per_uid[1001] = 2;
  const auto refusal = refuse_connection(caps, open, 1001, false);
  REQUIRE(refusal);
  CHECK(*refusal ==
        "uid 1001 has 2 open connections to qmd, the most one user may hold "
        "(api.maxConnectionsPerUser); close some (an idle events --follow?) and try again");
  CHECK_FALSE(refuse_connection(caps, open, 1002, false));  // another user is not affected
  CHECK_FALSE(refuse_connection(caps, open, 0, true));      // nor root
}

TEST_CASE("caps: group members share the total minus root's reserve; root gets the reserve") {
  const ConnectionCaps caps{.max_total = 64, .max_per_user = 64};
  CHECK(caps.reserved() == 8);
  ConnectionCounts open;
  open.total = 56;
  open.per_uid[1001] = 56;
  const auto refusal = refuse_connection(caps, open, 1002, false);
  REQUIRE(refusal);
  CHECK(refusal->find("are kept for root") != std::string::npos);
  CHECK_FALSE(refuse_connection(caps, open, 0, true));
  open.total = 64;
  CHECK(refuse_connection(caps, open, 0, true));  // the total binds root too
}

TEST_CASE("caps: the reserve is at least 4 and never more than the total") {
  CHECK(ConnectionCaps{.max_total = 10, .max_per_user = 1}.reserved() == 4);
  CHECK(ConnectionCaps{.max_total = 2, .max_per_user = 1}.reserved() == 2);
  CHECK(ConnectionCaps{.max_total = 256, .max_per_user = 32}.reserved() == 32);
}

TEST_CASE("body limits: specs 1 MiB, incoming migrations 4 MiB, everything else 64 KiB") {
  const BodyLimits limits;
  CHECK(body_kind(http::verb::post, "/v1/vms") == BodyKind::spec);
  CHECK(body_kind(http::verb::post, "/v1/vms?start=true") == BodyKind::spec);
  CHECK(body_kind(http::verb::put, "/v1/vms/web1") == BodyKind::spec);
  CHECK(body_kind(http::verb::put, "/v1/vms/web1/cpus") == BodyKind::other);
  CHECK(body_kind(http::verb::put, "/v1/vms/") == BodyKind::other);
  CHECK(body_kind(http::verb::post, "/v1/vms/web1/disks") == BodyKind::other);
  CHECK(body_kind(http::verb::post, "/v1/migrations/incoming") == BodyKind::migration);
  CHECK(body_kind(http::verb::get, "/v1/vms") == BodyKind::other);
  CHECK(body_limit(limits, BodyKind::spec) == 1024 * 1024);
  CHECK(body_limit(limits, BodyKind::migration) == 4 * 1024 * 1024);
  CHECK(body_limit(limits, BodyKind::other) == 64 * 1024);
  CHECK(body_limit_message(limits, BodyKind::spec) ==
        "the request body is larger than 1 MiB (1048576 bytes), the most a VM spec may be; "
        "split disks off into images or trim the spec");
  CHECK(body_limit_message(limits, BodyKind::other).starts_with(
      "the request body is larger than 64 KiB (65536 bytes)"));
}

TEST_CASE("console: one session per VM; the second is told who holds it; a lease frees it") {
  ConsoleSessions sessions;
  auto first = sessions.acquire("web1", PeerCred{4242, 1001, 1001});
  REQUIRE(first);
  auto other_vm = sessions.acquire("web2", PeerCred{4243, 1002, 1002});
  CHECK(other_vm);
  auto second = sessions.acquire("web1", PeerCred{4244, 0, 0});
  REQUIRE_FALSE(second);
  CHECK(second.error().peer.uid == 1001);
  CHECK(second.error().peer.pid == 4242);
  const auto message = console_busy_message("web1", second.error());
  CHECK(message.starts_with("the console of VM web1 is in use by uid 1001 (pid 4242) since "));
  CHECK(sessions.active() == 2);
  first->reset();
  CHECK(sessions.active() == 1);
  CHECK(sessions.acquire("web1", PeerCred{4244, 0, 0}));
}

TEST_CASE("console: a lease that outlives its table does nothing") {
  std::shared_ptr<ConsoleSessions::Lease> kept;
  {
    ConsoleSessions sessions;
    auto lease = sessions.acquire("web1", PeerCred{1, 1, 1});
    REQUIRE(lease);
    kept = *lease;
  }
  kept.reset();  // no crash: the table is gone
  CHECK_FALSE(kept);
}
