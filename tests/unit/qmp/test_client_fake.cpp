#include <doctest/doctest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"
#include "tests/unit/qmp/fake_peer.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;
namespace json = boost::json;

namespace {

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

// A client that finished its handshake with `peer` (greeting + qmp_capabilities as id 1).
QmpClient handshake(asio::io_context& ioc, FakePeer& peer, QmpOptions options = {}) {
  auto client = start(ioc, QmpClient::adopt(peer.client_end(), 2000ms, options));
  peer.send(greeting_line);
  CHECK(peer.request() == obj(R"({"execute": "qmp_capabilities", "id": 1})"));
  peer.send("{\"return\": {}, \"id\": 1}\r\n");
  REQUIRE(run_until(ioc, [&] { return client->has_value(); }));
  REQUIRE((*client)->has_value());
  return std::move(***client);
}

struct Recorder {
  std::vector<std::string> names;
  std::vector<json::object> data;
  void attach(QmpClient& c) {
    c.on_event([this](const QmpEvent& e) {
      names.push_back(e.name);
      data.push_back(e.data);
    });
  }
};

}  // namespace

TEST_CASE("a handshake with no events and no commands leaves nothing pending") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  CHECK(client.is_open());
  CHECK(client.pending() == 0);
  CHECK(client.close_reason() == nullptr);
}

TEST_CASE("a greeting split across reads is read whole") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  auto client = start(ioc, QmpClient::adopt(peer.client_end(), 2000ms));
  const std::string greeting = greeting_line;
  peer.send(greeting.substr(0, 10));
  peer.send(greeting.substr(10, 50));
  peer.send(greeting.substr(60));
  CHECK(peer.request() == obj(R"({"execute": "qmp_capabilities", "id": 1})"));
  peer.send("{\"return\": {}, \"id\": 1}\r\n");
  REQUIRE(run_until(ioc, [&] { return client->has_value(); }));
  REQUIRE((*client)->has_value());
  const QmpGreeting& g = (*client)->value().greeting();
  CHECK(g.major == 7);
  CHECK(g.minor == 2);
  CHECK(g.micro == 0);
  CHECK(g.package == "Debian 1:7.2+dfsg-7");
  CHECK(g.capabilities == std::vector<std::string>{"oob"});
}

TEST_CASE("a peer that never greets makes the handshake time out") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  auto result = finish(ioc, QmpClient::adopt(peer.client_end(), 100ms));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().to_string() ==
        "QMP timeout error: QMP handshake did not finish within 100 ms");
}

TEST_CASE("refused capabilities fail the handshake with QEMU's error") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  auto client = start(ioc, QmpClient::adopt(peer.client_end(), 2000ms));
  peer.send(greeting_line);
  peer.request();
  peer.send(R"({"error": {"class": "GenericError", "desc": "no"}, "id": 1})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return client->has_value(); }));
  REQUIRE_FALSE((*client)->has_value());
  CHECK((*client)->error().to_string() == "QMP error GenericError: no");
}

TEST_CASE("connecting to a missing socket is a transport error") {
  asio::io_context ioc;
  auto result = finish(ioc, QmpClient::connect("/nonexistent/qmd-qmp.sock", 1000ms));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().kind == QmpError::Kind::transport);
  CHECK(result.error().desc.starts_with("cannot connect to QMP socket /nonexistent/qmd-qmp.sock"));
}

TEST_CASE("a socket path too long for sun_path is a transport error, not an exception") {
  asio::io_context ioc;
  const std::string path = "/tmp/" + std::string(200, 'x');
  auto result = finish(ioc, QmpClient::connect(path, 1000ms));
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error() == QmpError{QmpError::Kind::transport, "",
                                   "QMP socket path " + path + " is longer than 107 bytes"});
}

TEST_CASE("replies merged in one read and out of order reach their own commands") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  Recorder events;
  events.attach(client);
  auto a = start(ioc, client.execute("query-status"));
  auto b = start(ioc, client.execute("query-name"));
  auto c = start(ioc, client.execute("query-uuid", {{"x", 1}}));
  CHECK(peer.request() == obj(R"({"execute": "query-status", "id": 2})"));
  CHECK(peer.request() == obj(R"({"execute": "query-name", "id": 3})"));
  CHECK(peer.request() == obj(R"({"execute": "query-uuid", "id": 4, "arguments": {"x": 1}})"));
  CHECK(client.pending() == 3);
  peer.send(R"({"return": {"UUID": "u"}, "id": 4})"
            "\r\n"
            R"({"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "STOP"})"
            "\r\n"
            R"({"return": {"status": "paused", "running": false}, "id": 2})"
            "\r\n"
            R"({"return": {"name": "vm1"}, "id": 3})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return a->has_value() && b->has_value() && c->has_value(); }));
  CHECK(**a == QmpResult(json::parse(R"({"status": "paused", "running": false})")));
  CHECK(**b == QmpResult(json::parse(R"({"name": "vm1"})")));
  CHECK(**c == QmpResult(json::parse(R"({"UUID": "u"})")));
  CHECK(events.names == std::vector<std::string>{"STOP"});
  CHECK(client.pending() == 0);
}

TEST_CASE("events reach every subscriber in order with QEMU's timestamp") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  Recorder first;
  first.attach(client);
  std::vector<std::chrono::system_clock::time_point> stamps;
  client.on_event([&](const QmpEvent& e) { stamps.push_back(e.timestamp); });
  const std::string stream =
      R"({"timestamp": {"seconds": 100, "microseconds": 1}, "event": "STOP"})"
      "\r\n"
      R"({"timestamp": {"seconds": 101, "microseconds": 2}, "event": "RESUME"})"
      "\r\n"
      R"({"timestamp": {"seconds": 102, "microseconds": 3}, "event": "DEVICE_DELETED", )"
      R"("data": {"device": "nic1", "path": "/machine/peripheral/nic1"}})"
      "\r\n";
  // Cut inside the second event so delivery spans reads.
  peer.send(stream.substr(0, 90));
  peer.send(stream.substr(90));
  REQUIRE(run_until(ioc, [&] { return first.names.size() == 3; }));
  CHECK(first.names == std::vector<std::string>{"STOP", "RESUME", "DEVICE_DELETED"});
  CHECK(first.data ==
        std::vector<json::object>{
            {}, {}, obj(R"({"device": "nic1", "path": "/machine/peripheral/nic1"})")});
  using std::chrono::seconds, std::chrono::microseconds;
  CHECK(stamps == std::vector<std::chrono::system_clock::time_point>{
                      std::chrono::system_clock::time_point(seconds(100) + microseconds(1)),
                      std::chrono::system_clock::time_point(seconds(101) + microseconds(2)),
                      std::chrono::system_clock::time_point(seconds(102) + microseconds(3))});
}

TEST_CASE("an error reply carries QEMU's class and description") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto r = start(ioc, client.execute("nope"));
  peer.request();
  peer.send(
      R"({"id": 2, "error": {"class": "CommandNotFound", )"
      R"("desc": "The command nope has not been found"}})"
      "\r\n");
  REQUIRE(run_until(ioc, [&] { return r->has_value(); }));
  REQUIRE_FALSE((*r)->has_value());
  CHECK((*r)->error().kind == QmpError::Kind::command);
  CHECK((*r)->error().cls == "CommandNotFound");
  CHECK((*r)->error().desc == "The command nope has not been found");
  CHECK(client.is_open());
}

TEST_CASE("a command past its timeout fails alone; its late reply is dropped") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto slow = finish(ioc, client.execute("query-migrate", {}, 50ms));
  REQUIRE_FALSE(slow.has_value());
  CHECK(slow.error().to_string() == "QMP timeout error: query-migrate got no reply within 50 ms");
  CHECK(peer.request() == obj(R"({"execute": "query-migrate", "id": 2})"));
  CHECK(client.is_open());
  auto next = start(ioc, client.execute("query-status"));
  CHECK(peer.request() == obj(R"({"execute": "query-status", "id": 3})"));
  peer.send(R"({"return": {"status": "late"}, "id": 2})"
            "\r\n"
            R"({"return": {"status": "running"}, "id": 3})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return next->has_value(); }));
  CHECK(**next == QmpResult(json::parse(R"({"status": "running"})")));
}

TEST_CASE("garbage from the peer fails every pending command with a protocol error") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto a = start(ioc, client.execute("query-status"));
  auto b = start(ioc, client.execute("query-name"));
  peer.request();
  peer.request();
  peer.send("{\"return\": {}, \"id\": 2}\r\n\x01\x02 not json\r\n");
  REQUIRE(run_until(ioc, [&] { return a->has_value() && b->has_value(); }));
  CHECK(**a == QmpResult(json::object{}));
  REQUIRE_FALSE((*b)->has_value());
  CHECK((*b)->error().kind == QmpError::Kind::protocol);
  CHECK_FALSE(client.is_open());
  REQUIRE(client.close_reason() != nullptr);
  CHECK(client.close_reason()->kind == QmpError::Kind::protocol);
  auto after = finish(ioc, client.execute("query-status"));
  REQUIRE_FALSE(after.has_value());
  CHECK(after.error().kind == QmpError::Kind::protocol);
}

TEST_CASE("a message that is not QMP is a protocol error") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto a = start(ioc, client.execute("query-status"));
  peer.request();
  peer.send("{\"hello\": 1}\r\n");
  REQUIRE(run_until(ioc, [&] { return a->has_value(); }));
  REQUIRE_FALSE((*a)->has_value());
  CHECK((*a)->error().to_string() == "QMP protocol error: unrecognised QMP message: {\"hello\":1}");
}

TEST_CASE("an oversized reply closes the connection and tells the owner once") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  std::vector<QmpError> told;
  QmpOptions options;
  options.command_timeout = std::chrono::milliseconds(2000);
  options.max_message = 4096;
  options.on_oversize = [&](const QmpError& error) { told.push_back(error); };
  QmpClient client = handshake(ioc, peer, options);
  auto a = start(ioc, client.execute("query-qmp-schema"));
  auto b = start(ioc, client.execute("query-status"));
  peer.request();
  peer.request();
  peer.send("{\"return\": \"" + std::string(8192, 'x') + "\"}\r\n");
  REQUIRE(run_until(ioc, [&] { return a->has_value() && b->has_value(); }));
  const QmpError expected{QmpError::Kind::oversize, "",
                          "QEMU sent a QMP message over the 4096 byte limit; qmd closed the QMP "
                          "connection"};
  CHECK(**a == QmpResult(std::unexpected(expected)));
  CHECK(**b == QmpResult(std::unexpected(expected)));
  CHECK(told == std::vector<QmpError>{expected});
  CHECK_FALSE(client.is_open());
  REQUIRE(client.close_reason() != nullptr);
  CHECK(*client.close_reason() == expected);
}

TEST_CASE("the QMP cap fits query-qmp-schema of QEMU 7.2 twenty times over") {
  CHECK(QmpOptions{}.max_message == 4u * 1024u * 1024u);
  CHECK(QmpOptions{}.max_message >= 20u * 206999u);
}

TEST_CASE("the peer closing mid-command fails every pending command at once") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  std::vector<std::shared_ptr<std::optional<QmpResult>>> waiting;
  for (int i = 0; i < 5; ++i) {
    waiting.push_back(start(ioc, client.execute("query-status")));
  }
  for (int i = 0; i < 5; ++i) {
    peer.request();
  }
  peer.send("{\"return\": {\"status\": \"half");
  peer.close();
  REQUIRE(run_until(
      ioc,
      [&] {
        return std::all_of(waiting.begin(), waiting.end(), [](auto& w) { return w->has_value(); });
      },
      1000ms));
  for (const auto& w : waiting) {
    REQUIRE_FALSE((*w)->has_value());
    CHECK((*w)->error().to_string() == "QMP closed error: QEMU closed the QMP connection");
  }
  CHECK_FALSE(client.is_open());
  CHECK(client.pending() == 0);
}

TEST_CASE("the peer going away with our request unread is a reset, reported as closed") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto a = start(ioc, client.execute("query-status"));
  REQUIRE(run_until(ioc, [&] { return client.pending() == 1; }));
  ioc.poll();  // let the write reach the peer's (unread) buffer
  peer.close();
  REQUIRE(run_until(
      ioc, [&] { return a->has_value(); }, 1000ms));
  REQUIRE_FALSE((*a)->has_value());
  CHECK((*a)->error().kind == QmpError::Kind::closed);
  CHECK_FALSE(client.is_open());
}

TEST_CASE("close() fails pending commands and later ones") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  auto a = start(ioc, client.execute("query-status"));
  peer.request();
  client.close();
  REQUIRE(run_until(ioc, [&] { return a->has_value(); }));
  REQUIRE_FALSE((*a)->has_value());
  CHECK((*a)->error().to_string() == "QMP closed error: the QMP client was closed");
  auto b = finish(ioc, client.execute("query-status"));
  CHECK(b.error().kind == QmpError::Kind::closed);
}

TEST_CASE("typed helpers send their command and read the reply") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);
  Recorder events;
  events.attach(client);

  auto status = start(ioc, query_status(client));
  CHECK(peer.request() == obj(R"({"execute": "query-status", "id": 2})"));
  peer.send(R"({"return": {"status": "paused", "singlestep": false, "running": false}, "id": 2})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return status->has_value(); }));
  CHECK((*status)->value() == RunStatus{"paused", false});

  // STOP comes before stop's own reply; the caller sees it by the time stop() returns.
  auto stopped = start(ioc, stop(client));
  CHECK(peer.request() == obj(R"({"execute": "stop", "id": 3})"));
  peer.send(R"({"timestamp": {"seconds": 1, "microseconds": 0}, "event": "STOP"})"
            "\r\n"
            R"({"return": {}, "id": 3})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return stopped->has_value(); }));
  CHECK((*stopped)->has_value());
  CHECK(events.names == std::vector<std::string>{"STOP"});

  auto del = start(ioc, device_del(client, "nic1"));
  CHECK(peer.request() ==
        obj(R"({"execute": "device_del", "id": 4, "arguments": {"id": "nic1"}})"));
  peer.send(R"({"id": 4, "error": {"class": "DeviceNotFound", "desc": "Device 'nic1' not found"}})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return del->has_value(); }));
  REQUIRE_FALSE((*del)->has_value());
  CHECK((*del)->error().cls == "DeviceNotFound");

  auto cpus = start(ioc, query_cpus_fast(client));
  CHECK(peer.request() == obj(R"({"execute": "query-cpus-fast", "id": 5})"));
  peer.send(R"({"return": "not a list", "id": 5})"
            "\r\n");
  REQUIRE(run_until(ioc, [&] { return cpus->has_value(); }));
  REQUIRE_FALSE((*cpus)->has_value());
  CHECK((*cpus)->error().kind == QmpError::Kind::protocol);
}

namespace {

// Runs one typed helper against the peer: checks the request it sent (without its id), answers
// with `reply` (a QMP "return" value) and hands back the helper's result.
template <typename T>
T exchange(asio::io_context& ioc, FakePeer& peer, asio::awaitable<T> task,
           std::string_view expected_request, std::string_view reply = "{}") {
  auto result = start(ioc, std::move(task));
  auto request = peer.request();
  const auto id = request.at("id");
  request.erase("id");
  CHECK(request == obj(expected_request));
  peer.send(R"({"return": )" + std::string(reply) + R"(, "id": )" + json::serialize(id) + "}\r\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  return std::move(**result);
}

}  // namespace

TEST_CASE("typed helpers for CPUs, balloon and display send their command") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);

  const auto cpus = exchange(
      ioc, peer, query_hotpluggable_cpus(client), R"({"execute": "query-hotpluggable-cpus"})",
      R"([{"props": {"core-id": 1, "thread-id": 0, "socket-id": 0}, "vcpus-count": 1,
           "type": "qemu64-x86_64-cpu"}])");
  CHECK(cpus.value() == std::vector<HotpluggableCpu>{
                            {"qemu64-x86_64-cpu", 1, std::nullopt, 0, 1, 0, std::nullopt}});
  CHECK(exchange(ioc, peer, balloon(client, 512LL << 20),
                 R"({"execute": "balloon", "arguments": {"value": 536870912}})")
            .has_value());
  CHECK(exchange(ioc, peer, query_balloon(client), R"({"execute": "query-balloon"})",
                 R"({"actual": 1073741824})")
            .value() == 1073741824);
  CHECK(exchange(ioc, peer, screendump(client, "/tmp/s.ppm"),
                 R"({"execute": "screendump", "arguments": {"filename": "/tmp/s.ppm"}})")
            .has_value());
  CHECK(exchange(ioc, peer, screendump(client, "/tmp/s.ppm", "video0"),
                 R"({"execute": "screendump",
                     "arguments": {"filename": "/tmp/s.ppm", "device": "video0"}})")
            .has_value());
  // A reply of the wrong shape is the peer's fault: protocol error, connection kept.
  const auto odd = exchange(ioc, peer, query_balloon(client), R"({"execute": "query-balloon"})",
                            R"({"actual": "lots"})");
  REQUIRE_FALSE(odd.has_value());
  CHECK(odd.error().kind == QmpError::Kind::protocol);
  CHECK(client.is_open());
}

TEST_CASE("typed helpers for block and network backends send their command") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);

  CHECK(exchange(ioc, peer, blockdev_add(client, {{"driver", "null-co"}, {"node-name", "n0"}}),
                 R"({"execute": "blockdev-add",
                     "arguments": {"driver": "null-co", "node-name": "n0"}})")
            .has_value());
  CHECK(exchange(ioc, peer, blockdev_del(client, "n0"),
                 R"({"execute": "blockdev-del", "arguments": {"node-name": "n0"}})")
            .has_value());
  CHECK(exchange(ioc, peer, query_blockstats(client), R"({"execute": "query-blockstats"})", "[]")
            .value() == std::vector<BlockStats>{});
  CHECK(exchange(ioc, peer, query_blockstats(client, true),
                 R"({"execute": "query-blockstats", "arguments": {"query-nodes": true}})",
                 R"([{"node-name": "n0", "stats": {"rd_bytes": 1, "wr_bytes": 2,
                      "rd_operations": 3, "wr_operations": 4, "flush_operations": 5}}])")
            .value() == std::vector<BlockStats>{{"", "n0", "", 1, 2, 3, 4, 5}});
  CHECK(exchange(ioc, peer, netdev_add(client, {{"type", "user"}, {"id", "net0"}}),
                 R"({"execute": "netdev_add", "arguments": {"type": "user", "id": "net0"}})")
            .has_value());
  CHECK(exchange(ioc, peer, netdev_del(client, "net0"),
                 R"({"execute": "netdev_del", "arguments": {"id": "net0"}})")
            .has_value());
}

TEST_CASE("typed helpers for migration send their command") {
  asio::io_context ioc;
  FakePeer peer(ioc);
  QmpClient client = handshake(ioc, peer);

  CHECK(exchange(ioc, peer, migrate(client, "unix:/run/m.sock"),
                 R"({"execute": "migrate", "arguments": {"uri": "unix:/run/m.sock"}})")
            .has_value());
  CHECK(exchange(ioc, peer, migrate(client, "unix:/run/m.sock", true),
                 R"({"execute": "migrate",
                     "arguments": {"uri": "unix:/run/m.sock", "resume": true}})")
            .has_value());
  CHECK(exchange(ioc, peer, migrate_incoming(client, "unix:/run/m.sock"),
                 R"({"execute": "migrate-incoming", "arguments": {"uri": "unix:/run/m.sock"}})")
            .has_value());
  CHECK(
      exchange(ioc, peer, migrate_cancel(client), R"({"execute": "migrate_cancel"})").has_value());
  CHECK(exchange(ioc, peer, migrate_continue(client, "pre-switchover"),
                 R"({"execute": "migrate-continue", "arguments": {"state": "pre-switchover"}})")
            .has_value());
  CHECK(exchange(ioc, peer, migrate_set_capabilities(client, {{"events", true}, {"xbzrle", false}}),
                 R"({"execute": "migrate-set-capabilities", "arguments": {"capabilities": [
                       {"capability": "events", "state": true},
                       {"capability": "xbzrle", "state": false}]}})")
            .has_value());
  CHECK(exchange(ioc, peer, query_migrate_capabilities(client),
                 R"({"execute": "query-migrate-capabilities"})",
                 R"([{"state": true, "capability": "events"}])")
            .value() == std::vector<MigrationCapability>{{"events", true}});
  CHECK(exchange(
            ioc, peer,
            migrate_set_parameters(client, {{"max-bandwidth", 1LL << 30}, {"downtime-limit", 500}}),
            R"({"execute": "migrate-set-parameters",
                     "arguments": {"max-bandwidth": 1073741824, "downtime-limit": 500}})")
            .has_value());
  CHECK(exchange(ioc, peer, query_migrate(client), R"({"execute": "query-migrate"})",
                 R"({"status": "active", "total-time": 10,
                     "ram": {"transferred": 1, "remaining": 2, "total": 3,
                             "dirty-pages-rate": 4, "dirty-sync-count": 5}})")
            .value() == MigrationInfo{"active", MigrationRam{1, 2, 3, 4, 5}, std::nullopt,
                                      std::nullopt, 10, std::nullopt, ""});
}
