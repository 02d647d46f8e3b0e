#include "daemon/api/session_caps.hpp"

#include <doctest/doctest.h>

#include <vector>

using qmd::daemon::api::SessionCaps;

TEST_CASE("no session holds nothing") {
  SessionCaps caps(2, 3);
  CHECK(caps.active() == 0);
  CHECK(caps.active("web1") == 0);
}

TEST_CASE("one VM is capped, the others still get sessions, until the total") {
  SessionCaps caps(2, 3);
  auto a = caps.acquire("web1");
  auto b = caps.acquire("web1");
  REQUIRE(a);
  REQUIRE(b);
  auto c = caps.acquire("web1");
  REQUIRE_FALSE(c);
  CHECK(c.error() == SessionCaps::Full::key);
  auto d = caps.acquire("db1");
  REQUIRE(d);
  auto e = caps.acquire("db2");
  REQUIRE_FALSE(e);
  CHECK(e.error() == SessionCaps::Full::total);
  CHECK(caps.active() == 3);
}

TEST_CASE("a lease gives its slot back when the last holder lets go") {
  SessionCaps caps(1, 4);
  {
    auto lease = caps.acquire("web1");
    REQUIRE(lease);
    auto copy = *lease;  // a stream holds it beside the route
    lease->reset();
    CHECK(caps.active("web1") == 1);
    CHECK_FALSE(caps.acquire("web1"));
  }
  CHECK(caps.active("web1") == 0);
  CHECK(caps.acquire("web1"));
}

TEST_CASE("a lease that outlives its table does nothing") {
  std::shared_ptr<SessionCaps::Lease> kept;
  {
    SessionCaps caps(1, 1);
    auto lease = caps.acquire("web1");
    REQUIRE(lease);
    kept = *lease;
  }
  kept.reset();  // no crash: the table is gone
  CHECK_FALSE(kept);
}
