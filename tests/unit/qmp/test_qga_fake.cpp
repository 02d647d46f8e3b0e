#include <doctest/doctest.h>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <istream>
#include <optional>
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
  agent.send("{\"return\": {\"stale\": 1}}\n{\"retu");               // before the sentinel
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
  agent.send(R"({"error": {"class": "CommandNotFound", "desc": "no such command"}})"
             "\n");
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
  CHECK(agent.request() == obj(R"({"execute": "guest-exec", "arguments":
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

TEST_CASE("guest_exec's limit bounds every step, not only the polling") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  // A client default far beyond the test's patience: only the limit can end this.
  QgaOptions patient;
  patient.command_timeout = std::chrono::hours(1);
  QgaClient client = agent.client(patient);
  auto result = start(ioc, guest_exec(client, "/bin/sleep", {"9"}, 300ms));
  agent.sync_reply(agent.sync_request());
  agent.request();
  agent.send("{\"return\": {\"pid\": 7}}\n");
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-exec-status", "arguments": {"pid": 7}})"));
  // The agent never answers the status.
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  REQUIRE_FALSE(result->value().has_value());
  CHECK(result->value().error().kind == QmpError::Kind::timeout);
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

namespace {

// Runs one typed helper against the fake agent: checks the request it sends after the sync,
// answers with `reply` (one JSON line) and returns what the helper made of it.
template <typename T>
T answered(asio::io_context& ioc, FakeAgent& agent, asio::awaitable<T> task,
           std::string_view expected_request, const std::string& reply) {
  auto result = start(ioc, std::move(task));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(expected_request));
  agent.send(reply + "\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  return std::move(**result);
}

QmpError bad_reply(std::string_view command, std::string_view reply) {
  return {QmpError::Kind::protocol, "",
          "unexpected " + std::string(command) + " reply from the agent: " + std::string(reply)};
}

}  // namespace

TEST_CASE("guest_get_host_name sends no arguments and reads host-name") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto request = R"({"execute": "guest-get-host-name"})";
  CHECK(answered(ioc, agent, guest_get_host_name(client), request,
                 R"({"return": {"host-name": "qmd-guest"}})") ==
        QgaTyped<std::string>("qmd-guest"));
  CHECK(answered(ioc, agent, guest_get_host_name(client), request,
                 R"({"return": {"host-name": 5}})") ==
        QgaTyped<std::string>(
            std::unexpected(bad_reply("guest-get-host-name", R"({"host-name":5})"))));
  CHECK(answered(ioc, agent, guest_get_host_name(client), request, R"({"return": "g"})") ==
        QgaTyped<std::string>(std::unexpected(bad_reply("guest-get-host-name", R"("g")"))));
}

TEST_CASE("guest_get_timezone reads an optional zone and a required offset") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto request = R"({"execute": "guest-get-timezone"})";
  CHECK(answered(ioc, agent, guest_get_timezone(client), request,
                 R"({"return": {"zone": "CET", "offset": 3600}})") ==
        QgaTyped<GuestTimezone>(GuestTimezone{"CET", 3600}));
  CHECK(answered(ioc, agent, guest_get_timezone(client), request,
                 R"({"return": {"offset": -18000}})") ==
        QgaTyped<GuestTimezone>(GuestTimezone{std::nullopt, -18000}));
  CHECK(
      answered(ioc, agent, guest_get_timezone(client), request, R"({"return": {"zone": "UTC"}})") ==
      QgaTyped<GuestTimezone>(
          std::unexpected(bad_reply("guest-get-timezone", R"({"zone":"UTC"})"))));
}

TEST_CASE("guest_get_users reads every session, login-time as a number of any JSON kind") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto request = R"({"execute": "guest-get-users"})";
  CHECK(answered(ioc, agent, guest_get_users(client), request,
                 R"({"return": [{"user": "root", "login-time": 1700000000.5},
                                {"user": "bob", "domain": "CORP", "login-time": 1700000001}]})") ==
        QgaTyped<std::vector<GuestUser>>(std::vector<GuestUser>{
            {"root", std::nullopt, 1700000000.5}, {"bob", "CORP", 1700000001.0}}));
  CHECK(answered(ioc, agent, guest_get_users(client), request, R"({"return": []})") ==
        QgaTyped<std::vector<GuestUser>>(std::vector<GuestUser>{}));
  CHECK(answered(ioc, agent, guest_get_users(client), request,
                 R"({"return": [{"user": "root", "login-time": "yesterday"}]})") ==
        QgaTyped<std::vector<GuestUser>>(std::unexpected(
            bad_reply("guest-get-users", R"([{"user":"root","login-time":"yesterday"}])"))));
  CHECK(answered(ioc, agent, guest_get_users(client), request, R"({"return": {"user": "root"}})") ==
        QgaTyped<std::vector<GuestUser>>(
            std::unexpected(bad_reply("guest-get-users", R"({"user":"root"})"))));
}

TEST_CASE("guest_get_fsinfo reads file systems with their disks") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto request = R"({"execute": "guest-get-fsinfo"})";
  // What qemu-ga 7.2 in the test guest answers for a mounted virtio disk, plus a serial and a
  // file system without sizes or disks.
  CHECK(answered(ioc, agent, guest_get_fsinfo(client), request,
                 R"({"return": [
                   {"name": "vda", "total-bytes": 13237248, "mountpoint": "/mnt", "disk": [
                     {"bus-type": "virtio", "bus": 0, "unit": 0, "serial": "qmd0",
                      "pci-controller": {"bus": 0, "slot": 5, "domain": 0, "function": 0},
                      "dev": "/dev/vda", "target": 0}],
                    "used-bytes": 15360, "type": "ext4"},
                   {"name": "md0", "mountpoint": "/data", "type": "xfs", "disk": []}]})") ==
        QgaTyped<std::vector<GuestFilesystem>>(
            std::vector<GuestFilesystem>{{"vda",
                                          "/mnt",
                                          "ext4",
                                          15360u,
                                          13237248u,
                                          {{"qmd0", "/dev/vda", "virtio", {0, 0, 5, 0}, 0, 0, 0}}},
                                         {"md0", "/data", "xfs", std::nullopt, std::nullopt, {}}}));
  CHECK(answered(ioc, agent, guest_get_fsinfo(client), request, R"({"return": []})") ==
        QgaTyped<std::vector<GuestFilesystem>>(std::vector<GuestFilesystem>{}));
  // A disk without its PCI controller, and sizes that are not byte counts.
  const auto no_pci = R"([{"name":"vda","mountpoint":"/","type":"ext4",)"
                      R"("disk":[{"bus-type":"virtio","bus":0,"unit":0,"target":0}]}])";
  CHECK(answered(ioc, agent, guest_get_fsinfo(client), request,
                 std::string(R"({"return": )") + no_pci + "}") ==
        QgaTyped<std::vector<GuestFilesystem>>(
            std::unexpected(bad_reply("guest-get-fsinfo", no_pci))));
  const auto negative =
      R"([{"name":"vda","mountpoint":"/","type":"ext4","used-bytes":-1,"disk":[]}])";
  CHECK(answered(ioc, agent, guest_get_fsinfo(client), request,
                 std::string(R"({"return": )") + negative + "}") ==
        QgaTyped<std::vector<GuestFilesystem>>(
            std::unexpected(bad_reply("guest-get-fsinfo", negative))));
}

TEST_CASE("guest_network_get_interfaces reads names, MACs and addresses") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  const auto request = R"({"execute": "guest-network-get-interfaces"})";
  CHECK(answered(ioc, agent, guest_network_get_interfaces(client), request,
                 R"({"return": [
                   {"name": "lo", "hardware-address": "00:00:00:00:00:00", "ip-addresses": [
                     {"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
                     {"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128}],
                    "statistics": {"rx-bytes": 0}},
                   {"name": "sit0"}]})") ==
        QgaTyped<std::vector<GuestNetworkInterface>>(
            std::vector<GuestNetworkInterface>{{"lo",
                                                "00:00:00:00:00:00",
                                                {{GuestIpAddress::Family::ipv4, "127.0.0.1", 8},
                                                 {GuestIpAddress::Family::ipv6, "::1", 128}}},
                                               {"sit0", "", {}}}));
  const auto unknown_family =
      R"([{"name":"lo","ip-addresses":[{"ip-address-type":"ipx","ip-address":"1","prefix":8}]}])";
  CHECK(answered(ioc, agent, guest_network_get_interfaces(client), request,
                 std::string(R"({"return": )") + unknown_family + "}") ==
        QgaTyped<std::vector<GuestNetworkInterface>>(
            std::unexpected(bad_reply("guest-network-get-interfaces", unknown_family))));
  const auto text_prefix = R"([{"name":"lo","ip-addresses":[)"
                           R"({"ip-address-type":"ipv4","ip-address":"127.0.0.1","prefix":"8"}]}])";
  CHECK(answered(ioc, agent, guest_network_get_interfaces(client), request,
                 std::string(R"({"return": )") + text_prefix + "}") ==
        QgaTyped<std::vector<GuestNetworkInterface>>(
            std::unexpected(bad_reply("guest-network-get-interfaces", text_prefix))));
}

TEST_CASE("fsfreeze freeze/thaw return counts, status reads thawed/frozen") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  CHECK(answered(ioc, agent, guest_fsfreeze_freeze(client),
                 R"({"execute": "guest-fsfreeze-freeze"})",
                 R"({"return": 2})") == QgaTyped<std::int64_t>(2));
  CHECK(answered(ioc, agent, guest_fsfreeze_status(client),
                 R"({"execute": "guest-fsfreeze-status"})",
                 R"({"return": "frozen"})") == QgaTyped<FsFreezeStatus>(FsFreezeStatus::frozen));
  CHECK(answered(ioc, agent, guest_fsfreeze_thaw(client), R"({"execute": "guest-fsfreeze-thaw"})",
                 R"({"return": 2})") == QgaTyped<std::int64_t>(2));
  CHECK(answered(ioc, agent, guest_fsfreeze_status(client),
                 R"({"execute": "guest-fsfreeze-status"})",
                 R"({"return": "thawed"})") == QgaTyped<FsFreezeStatus>(FsFreezeStatus::thawed));
  CHECK(answered(ioc, agent, guest_fsfreeze_status(client),
                 R"({"execute": "guest-fsfreeze-status"})", R"({"return": "melting"})") ==
        QgaTyped<FsFreezeStatus>(
            std::unexpected(bad_reply("guest-fsfreeze-status", R"("melting")"))));
  CHECK(answered(ioc, agent, guest_fsfreeze_freeze(client),
                 R"({"execute": "guest-fsfreeze-freeze"})", R"({"return": {}})") ==
        QgaTyped<std::int64_t>(std::unexpected(bad_reply("guest-fsfreeze-freeze", "{}"))));
}

TEST_CASE("fsfreeze uses its own long timeout, not the client's default") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaOptions options;
  options.command_timeout = 100ms;
  QgaClient client = agent.client(options);
  auto result = start(ioc, guest_fsfreeze_freeze(client));
  agent.sync_reply(agent.sync_request());
  CHECK(agent.request() == obj(R"({"execute": "guest-fsfreeze-freeze"})"));
  // Longer than the client's 100 ms: a freeze syncs every file system first.
  CHECK_FALSE(run_until(
      ioc, [&] { return result->has_value(); }, 400ms));
  agent.send("{\"return\": 1}\n");
  REQUIRE(run_until(ioc, [&] { return result->has_value(); }));
  CHECK(**result == QgaTyped<std::int64_t>(1));

  auto bounded = start(ioc, guest_fsfreeze_thaw(client, 100ms));
  agent.sync_reply(agent.sync_request());
  agent.request();
  REQUIRE(run_until(
      ioc, [&] { return bounded->has_value(); }, 2000ms));
  CHECK(**bounded == QgaTyped<std::int64_t>(std::unexpected(QmpError{
                         QmpError::Kind::timeout, "",
                         "agent not responding on fake-qga: guest-fsfreeze-thaw got no reply "
                         "within 100 ms"})));
}

TEST_CASE("guest_set_user_password sends the password base64-encoded and keeps it out of errors") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  CHECK(answered(ioc, agent, guest_set_user_password(client, "root", "s3cret:x"),
                 R"({"execute": "guest-set-user-password", "arguments":
                    {"username": "root", "password": "czNjcmV0Ong=", "crypted": false}})",
                 R"({"return": {}})") == QgaDone{});
  CHECK(answered(ioc, agent, guest_set_user_password(client, "bob", "$6$salt$hash", true),
                 R"({"execute": "guest-set-user-password", "arguments":
                    {"username": "bob", "password": "JDYkc2FsdCRoYXNo", "crypted": true}})",
                 R"({"return": {}})") == QgaDone{});
  const auto failed = answered(ioc, agent, guest_set_user_password(client, "nobody", "s3cret"),
                               R"({"execute": "guest-set-user-password", "arguments":
                  {"username": "nobody", "password": "czNjcmV0", "crypted": false}})",
                               R"({"error": {"class": "GenericError",
                             "desc": "child process has failed to set user password"}})");
  REQUIRE_FALSE(failed.has_value());
  CHECK(failed.error() == QmpError{QmpError::Kind::command, "GenericError",
                                   "child process has failed to set user password"});
  CHECK(answered(ioc, agent, guest_set_user_password(client, "root", "s3cret"),
                 R"({"execute": "guest-set-user-password", "arguments":
                    {"username": "root", "password": "czNjcmV0", "crypted": false}})",
                 R"({"return": 1})") ==
        QgaDone(std::unexpected(bad_reply("guest-set-user-password", "1"))));
}

TEST_CASE("guest_set_time sends nanoseconds, or nothing to have the guest read its RTC") {
  asio::io_context ioc;
  FakeAgent agent(ioc);
  QgaClient client = agent.client();
  CHECK(answered(ioc, agent, guest_set_time(client), R"({"execute": "guest-set-time"})",
                 R"({"return": {}})") == QgaDone{});
  CHECK(answered(ioc, agent, guest_set_time(client, 1700000000123456789),
                 R"({"execute": "guest-set-time", "arguments": {"time": 1700000000123456789}})",
                 R"({"return": {}})") == QgaDone{});
  CHECK(answered(ioc, agent, guest_set_time(client), R"({"execute": "guest-set-time"})",
                 R"({"return": null})") ==
        QgaDone(std::unexpected(bad_reply("guest-set-time", "null"))));
}

TEST_CASE("base64 encoding pads and round-trips every byte") {
  CHECK(encode_base64("") == "");
  CHECK(encode_base64("L") == "TA==");
  CHECK(encode_base64("Li") == "TGk=");
  CHECK(encode_base64("Linux") == "TGludXg=");
  CHECK(encode_base64("Linux!") == "TGludXgh");
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all.push_back(static_cast<char>(c));
  }
  CHECK(decode_base64(encode_base64(all)) == std::optional<std::string>(all));
}
