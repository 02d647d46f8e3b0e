// What a hostile or broken agent can send: messages over the caps, control characters,
// endless strings. Each case performs the attack on a real socketpair (or a real listening
// socket) and checks the documented outcome.
#include <doctest/doctest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "qmp/qga_client.hpp"
#include "qmp/qga_commands.hpp"
#include "tests/unit/qmp/fake_agent.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;
namespace json = boost::json;

namespace {

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

// A reply of exactly `bytes` bytes (before its line end): {"return": "xxx..."}.
std::string reply_of_size(std::size_t bytes) {
  const std::string head = "{\"return\": \"";
  const std::string tail = "\"}";
  return head + std::string(bytes - head.size() - tail.size(), 'x') + tail;
}

QgaOptions small_caps(std::vector<QmpError>* told) {
  QgaOptions options;
  options.max_message = 1024;
  options.max_exec_status_message = 4096;
  options.on_oversize = [told](const QmpError& error) { told->push_back(error); };
  return options;
}

}  // namespace

TEST_CASE("the caps: 1 MiB, and qemu-ga's two 16 MiB outputs in base64 for guest-exec-status") {
  CHECK(QgaOptions{}.max_message == 1024u * 1024u);
  // 16 MiB -> 22 369 624 base64 characters, twice, plus room for the rest of the reply.
  CHECK(base64_size(16u * 1024u * 1024u) == 22369624u);
  CHECK(QgaOptions{}.max_exec_status_message == 2u * 22369624u + 65536u);
}

TEST_CASE("a reply over the cap closes the channel, fails the command and is told once") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  std::vector<QmpError> told;
  QgaClient client = agent.client(small_caps(&told));
  auto result = start(ioc, client.execute("guest-info"));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-info"})"));
  // The client stops reading at the cap: most of the 4 MiB is never taken.
  CHECK_FALSE(agent.try_send(reply_of_size(4 * 1024 * 1024) + "\n"));
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  const QmpError expected{QmpError::Kind::oversize, "",
                          "agent on fake-qga sent a message over the 1024 byte limit while qmd "
                          "waited for guest-info; the channel was closed"};
  CHECK(**result == QgaResult(std::unexpected(expected)));
  CHECK(told == std::vector<QmpError>{expected});
  // An adopted socket cannot reconnect: the next command says so rather than hang.
  auto next = finish(ioc, client.execute("guest-ping"), 2000ms);
  CHECK(next.error().kind == QmpError::Kind::closed);
}

TEST_CASE("a reply at the cap is taken") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  std::vector<QmpError> told;
  QgaClient client = agent.client(small_caps(&told));
  auto result = start(ioc, client.execute("guest-info"));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(reply_of_size(1024) + "\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  REQUIRE((*result)->has_value());
  CHECK((*result)->value().as_string().size() == 1024 - 14);
  CHECK(told.empty());
}

TEST_CASE("guest-exec-status alone may use the larger cap") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  std::vector<QmpError> told;
  QgaClient client = agent.client(small_caps(&told));
  json::object arguments{{"pid", 7}};
  auto status = start(ioc, client.execute("guest-exec-status", arguments));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(reply_of_size(4096) + "\n");
  REQUIRE(run_until(ioc, [&] { return status->has_value(); }));
  CHECK((*status)->has_value());

  auto over = start(ioc, client.execute("guest-exec-status", arguments));
  agent.sync_reply(agent.sync_request());
  agent.request();
  CHECK_FALSE(agent.try_send(reply_of_size(4 * 1024 * 1024) + "\n"));
  REQUIRE(run_until(ioc, [&] { return over->has_value(); }));
  CHECK((*over)->error().desc ==
        "agent on fake-qga sent a message over the 4096 byte limit while qmd waited for "
        "guest-exec-status; the channel was closed");
  CHECK(told.size() == 1);
}

TEST_CASE("a message over the cap after the sync sentinel closes the channel too") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  std::vector<QmpError> told;
  QgaClient client = agent.client(small_caps(&told));
  auto result = start(ioc, client.execute("guest-ping"));
  agent.sync_request();
  CHECK_FALSE(agent.try_send("\xff" + reply_of_size(4 * 1024 * 1024)));
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK((*result)->error().kind == QmpError::Kind::oversize);
  CHECK((*result)->error().desc.ends_with("waited for guest-sync-delimited; the channel was closed"));
  CHECK(told.size() == 1);
}

TEST_CASE("after an over-size reply a client with a path reconnects and resyncs") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("qmd-qga-limits-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "qga.sock").string();
  asio::io_context ioc;
  asio::local::stream_protocol::acceptor acceptor(ioc,
                                                  asio::local::stream_protocol::endpoint(path));
  FakeAgent agent(ioc);
  std::vector<QmpError> told;
  QgaClient client(ioc.get_executor(), path, small_caps(&told));

  auto first = start(ioc, guest_info(client));
  agent.accept(acceptor);
  agent.sync_reply(agent.sync_request());
  agent.request();
  CHECK_FALSE(agent.try_send("{\"return\": {\"version\": \"" + std::string(4 * 1024 * 1024, 'v')));
  REQUIRE(run_until(ioc, [&] { return first->has_value(); }));
  CHECK((*first)->error().kind == QmpError::Kind::oversize);

  auto second = start(ioc, guest_info(client));
  agent.accept(acceptor);
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-info"})"));
  agent.send(R"({"return": {"version": "7.2.0", "supported_commands": []}})" "\n");
  REQUIRE(run_until(ioc, [&] { return second->has_value(); }));
  REQUIRE((*second)->has_value());
  CHECK((*second)->value().version == "7.2.0");
  CHECK(told.size() == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("guest-info: a version with control characters and no end is cut to 64 printable") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto info = start(ioc, guest_info(client));
  agent.sync_reply(agent.sync_request());
  agent.request();
  // JSON escapes for ESC, newline and a bidi override, then 900 KB: under the 1 MiB cap.
  agent.send(R"({"return": {"version": "7.2\u001b[2J\nfake log line\u202e)" +
             std::string(900 * 1024, 'v') + R"(", "supported_commands": []}})" "\n");
  REQUIRE(run_until(ioc, [&] { return info->has_value(); }));
  REQUIRE((*info)->has_value());
  const std::string expected = "7.2?[2J?fake log line?" + std::string(41, 'v') + "\u2026";
  CHECK((*info)->value().version == expected);
}

TEST_CASE("the agent's error class and description are sanitised and bounded") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto result = start(ioc, client.execute("guest-ping"));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(R"({"error": {"class": "Generic\nError", "desc": "bad\r\n)" +
             std::string(5000, 'd') + "\"}}\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  const auto& error = (*result)->error();
  CHECK(error.kind == QmpError::Kind::command);
  CHECK(error.cls == "Generic?Error");
  CHECK(error.desc.starts_with("bad??ddd"));
  CHECK(error.desc.ends_with("d\u2026"));
  CHECK(error.desc.size() == 1023 + 3);  // 1023 ASCII characters and a 3-byte ellipsis
}

TEST_CASE("an unexpected reply is quoted in the error only in part") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  auto info = start(ioc, guest_info(client));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send(R"({"return": [")" + std::string(100000, 'z') + "\"]}\n");
  REQUIRE(run_until(ioc, [&] { return info->has_value(); }));
  const auto& desc = (*info)->error().desc;
  CHECK(desc.starts_with("unexpected guest-info reply from the agent: [\"zzz"));
  CHECK(desc.ends_with("zzz..."));
  CHECK(desc.size() < 300);
}
