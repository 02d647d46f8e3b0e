#include <doctest/doctest.h>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <istream>
#include <string>

#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;
namespace json = boost::json;

namespace {

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

// The agent's side of a socketpair. Requests may start with the client's 0xFF parser reset.
class FakeAgent {
 public:
  explicit FakeAgent(asio::io_context& ioc) : ioc_(ioc), socket_(ioc) {}
  QgaClient client(QgaOptions options = {}) {
    asio::local::stream_protocol::socket other(ioc_);
    asio::local::connect_pair(socket_, other);
    return QgaClient::adopt(std::move(other), "fake-qga", options);
  }
  void send(const std::string& bytes) {
    bool done = false;
    asio::async_write(socket_, asio::buffer(bytes), [&](boost::system::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
  }
  json::object request() {
    bool done = false;
    asio::async_read_until(socket_, buffer_, '\n', [&](boost::system::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.front() == '\xff') {
      line.erase(0, 1);
    }
    return json::parse(line).as_object();
  }
  // Reads a sync request and returns its id.
  std::int64_t sync_request() {
    const auto r = request();
    REQUIRE(r.at("execute") == "guest-sync-delimited");
    return r.at("arguments").at("id").as_int64();
  }
  void sync_reply(std::int64_t id) { send("\xff{\"return\": " + std::to_string(id) + "}\n"); }
  std::size_t unread() { return socket_.available() + buffer_.size(); }

 private:
  asio::io_context& ioc_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf buffer_;
};

}  // namespace

TEST_CASE("a client that runs no command sends nothing to the agent") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  ioc.poll();
  CHECK(agent.unread() == 0);
  CHECK(client.queued() == 0);
}

TEST_CASE("sync skips bytes before the sentinel and stale replies, then runs the command") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto result = start(ioc, client.execute("guest-ping"));
  const auto id = agent.sync_request();
  agent.send("{\"return\": {\"stale\": 1}}\n{\"retu");            // before the sentinel
  agent.send("\xff{\"return\": 7}\n{\"return\": {\"late\": 2}}\n");  // stale after it
  agent.sync_reply(id);
  CHECK(agent.request() == obj(R"({"execute": "guest-ping"})"));
  agent.send("{\"return\": {}}\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK(**result == QgaResult(json::object{}));
}

TEST_CASE("a silent agent gives 'agent not responding' within the timeout") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto result = finish(ioc, client.execute("guest-ping", {}, 100ms), 2000ms);
  CHECK(result == QgaResult(std::unexpected(QmpError{
                      QmpError::Kind::timeout, "",
                      "agent not responding on fake-qga: guest-sync-delimited got no reply "
                      "within 100 ms"})));
}

TEST_CASE("a reply that comes after its timeout is discarded by the next sync") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto first = start(ioc, client.execute("guest-info", {}, 100ms));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-info"})"));
  REQUIRE(run_until(ioc, [&] { return first->has_value(); }));
  CHECK((*first)->error().desc ==
        "agent not responding on fake-qga: guest-info got no reply within 100 ms");
  auto second = start(ioc, client.execute("guest-get-osinfo"));
  const auto id = agent.sync_request();
  agent.send("{\"return\": {\"version\": \"late\"}}\n");
  agent.sync_reply(id);
  CHECK(agent.request() == obj(R"({"execute": "guest-get-osinfo"})"));
  agent.send("{\"return\": {\"kernel-release\": \"6.1\"}}\n");
  REQUIRE(run_until(ioc, [&] { return second->has_value(); }));
  CHECK(**second == QgaResult(json::value(obj(R"({"kernel-release": "6.1"})"))));
}

TEST_CASE("queued commands run one at a time, in order") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto a = start(ioc, client.execute("guest-ping"));
  auto b = start(ioc, client.execute("guest-get-host-name"));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-ping"})"));
  ioc.poll();
  CHECK(client.queued() == 1);
  CHECK(agent.unread() == 0);  // b waits for a's reply
  agent.send("{\"return\": {}}\n");
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-get-host-name"})"));
  agent.send("{\"return\": {\"host-name\": \"g\"}}\n");
  REQUIRE(run_until(ioc, [&] { return a->has_value() && b->has_value(); }));
  CHECK(**a == QgaResult(json::object{}));
  CHECK(**b == QgaResult(json::value(obj(R"({"host-name": "g"})"))));
}

TEST_CASE("an agent error is a command error with its class and desc") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto result = start(ioc, client.execute("guest-nope"));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(R"({"error": {"class": "CommandNotFound", "desc": "no such command"}})" "\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK(**result == QgaResult(std::unexpected(
                        QmpError{QmpError::Kind::command, "CommandNotFound", "no such command"})));
}

TEST_CASE("guest-shutdown is sent after a sync and not waited for") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto result = start(ioc, guest_shutdown(client, "halt"));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-shutdown", "arguments": {"mode": "halt"}})"));
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK(result->value().has_value());
}

TEST_CASE("guest_exec polls until exit and decodes the output") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto result = start(ioc, guest_exec(client, "/bin/echo", {"hi"}));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() ==
        obj(R"({"execute": "guest-exec", "arguments":
               {"path": "/bin/echo", "capture-output": true, "arg": ["hi"]}})"));
  agent.send("{\"return\": {\"pid\": 42}}\n");
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-exec-status", "arguments": {"pid": 42}})"));
  agent.send("{\"return\": {\"exited\": false}}\n");
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(R"({"return": {"exited": true, "exitcode": 3, "out-data": "aGkK", "err-data": ""}})"
             "\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK(**result == QgaTyped<GuestExecResult>(GuestExecResult{3, std::nullopt, "hi\n", "", false}));
}

TEST_CASE("base64 decoding") {
  CHECK(decode_base64("") == std::optional<std::string>(""));
  CHECK(decode_base64("TGludXg=") == std::optional<std::string>("Linux"));
  CHECK(decode_base64("TGludXgh") == std::optional<std::string>("Linux!"));
  CHECK(decode_base64("TGl*") == std::nullopt);
}

TEST_CASE("a missing agent socket is a transport error naming it") {
  asio::io_context ioc;
  QgaClient client(ioc.get_executor(), "/nonexistent/qga.sock");
  const auto result = finish(ioc, client.execute("guest-ping", {}, 500ms));
  CHECK(result == QgaResult(std::unexpected(QmpError{
                      QmpError::Kind::transport, "",
                      "cannot connect to agent socket /nonexistent/qga.sock: No such file or "
                      "directory"})));
}
