// QmpClient against a real qemu-system-x86_64 (TCG, -S, no guest): every case starts its own
// QEMU in its own temp dir and kills it on the way out.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"
#include "tests/integration/support.hpp"
#include "tests/integration/qmp/qemu_process.hpp"
#include "tests/unit/qmp/io_drive.hpp"

using namespace qmd::qmp;
using namespace qmd::qmp::testing;
namespace json = boost::json;

namespace {

class Qemu {
 public:
  explicit Qemu(const std::string& dir, std::vector<std::string> extra = {})
      : socket_(dir + "/qmp.sock"), process_(command(socket_, std::move(extra)), dir) {}

  const std::string& socket() const { return socket_; }
  void signal(int sig) const { process_.signal(sig); }
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    return process_.wait_exit(limit);
  }

 private:
  static std::vector<std::string> command(const std::string& socket,
                                          std::vector<std::string> extra) {
    std::vector<std::string> args = {"qemu-system-x86_64",
                                     "-accel",
                                     "tcg",
                                     "-machine",
                                     "q35",
                                     "-S",
                                     "-nodefaults",
                                     "-display",
                                     "none",
                                     "-qmp",
                                     "unix:" + socket + ",server=on,wait=off"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  std::string socket_;
  QemuProcess process_;
};

// QEMU creates its socket a moment after it starts; retry the connect (and only the connect)
// until it answers, within a bound.
QmpClient connect(asio::io_context& ioc, const Qemu& qemu) {
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    auto result = finish(ioc, QmpClient::connect(qemu.socket(), 5000ms), 10000ms);
    if (result.has_value()) {
      return std::move(*result);
    }
    REQUIRE_MESSAGE(result.error().kind == QmpError::Kind::transport, result.error().to_string());
    REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, result.error().to_string());
    std::this_thread::sleep_for(20ms);
  }
}

struct Fixture {
  qmd::itest::TempDir dir{"qmp"};
  asio::io_context ioc;
  Qemu qemu;
  std::vector<std::string> events;
  std::vector<json::object> event_data;
  QmpClient client;
  explicit Fixture(std::vector<std::string> extra = {})
      : qemu(dir.path(), std::move(extra)), client(connect(ioc, qemu)) {
    client.on_event([this](const QmpEvent& e) { event_data.push_back(e.data); });
    client.on_event([this](const QmpEvent& e) { events.push_back(e.name); });
  }
  bool saw(const std::string& name) {
    return std::find(events.begin(), events.end(), name) != events.end();
  }
};

}  // namespace

TEST_CASE_FIXTURE(Fixture, "handshake with QEMU 7 and a machine with no devices") {
  CHECK(client.greeting().major == 7);
  CHECK(std::find(client.greeting().capabilities.begin(), client.greeting().capabilities.end(),
                  "oob") != client.greeting().capabilities.end());
  CHECK(finish(ioc, query_status(client)).value() == RunStatus{"prelaunch", false});
  CHECK(finish(ioc, query_block(client)).value() == std::vector<BlockDevice>{});
  const auto cpus = finish(ioc, query_cpus_fast(client)).value();
  REQUIRE(cpus.size() == 1);
  CHECK(cpus[0].cpu_index == 0);
  CHECK(cpus[0].thread_id > 0);
  CHECK(cpus[0].target == "x86_64");
  CHECK(cpus[0].socket_id == std::optional<std::int64_t>(0));
  CHECK(events.empty());
}

TEST_CASE_FIXTURE(Fixture, "100 concurrent commands each get their own reply") {
  // query-command-line-options answers with the option asked for, so a mixed-up id would show.
  const auto all = finish(ioc, client.execute("query-command-line-options")).value();
  std::vector<std::string> names;
  for (const auto& entry : all.as_array()) {
    names.emplace_back(entry.at("option").as_string());
  }
  REQUIRE(names.size() > 10);
  std::vector<std::shared_ptr<std::optional<QmpResult>>> replies;
  for (int i = 0; i < 100; ++i) {
    if (i % 4 == 3) {
      replies.push_back(start(ioc, client.execute("query-status")));
    } else {
      replies.push_back(start(ioc, client.execute("query-command-line-options",
                                                  {{"option", names[i % names.size()]}})));
    }
  }
  REQUIRE(run_until(ioc, [&] {
    return std::all_of(replies.begin(), replies.end(), [](auto& r) { return r->has_value(); });
  }));
  for (int i = 0; i < 100; ++i) {
    const auto& reply = **replies[i];
    REQUIRE_MESSAGE(reply.has_value(), reply.error().to_string());
    if (i % 4 == 3) {
      CHECK(reply->at("status").as_string() == "prelaunch");
    } else {
      REQUIRE(reply->as_array().size() == 1);
      CHECK(reply->as_array()[0].at("option").as_string() == names[i % names.size()]);
    }
  }
  CHECK(client.pending() == 0);
}

TEST_CASE_FIXTURE(Fixture, "cont then stop give RESUME then STOP, in order") {
  REQUIRE(finish(ioc, cont(client)).has_value());
  REQUIRE(run_until(ioc, [&] { return saw("RESUME"); }));
  CHECK(finish(ioc, query_status(client)).value() == RunStatus{"running", true});
  REQUIRE(finish(ioc, stop(client)).has_value());
  REQUIRE(run_until(ioc, [&] { return saw("STOP"); }));
  CHECK(events == std::vector<std::string>{"RESUME", "STOP"});
  CHECK(finish(ioc, query_status(client)).value() == RunStatus{"paused", false});
}

TEST_CASE_FIXTURE(Fixture, "errors from QEMU come back typed and keep the connection") {
  const auto missing = finish(ioc, client.execute("no-such-command"));
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == QmpError{QmpError::Kind::command, "CommandNotFound",
                                    "The command no-such-command has not been found"});
  const auto gone = finish(ioc, device_del(client, "no-such-device"));
  REQUIRE_FALSE(gone.has_value());
  CHECK(gone.error() ==
        QmpError{QmpError::Kind::command, "DeviceNotFound", "Device 'no-such-device' not found"});
  CHECK(client.is_open());
  CHECK(finish(ioc, query_status(client)).value() == RunStatus{"prelaunch", false});
}

TEST_CASE_FIXTURE(Fixture, "query-qmp-schema, a reply of some hundred KiB") {
  const auto schema = finish(ioc, client.execute("query-qmp-schema")).value();
  const auto& entries = schema.as_array();
  CHECK(entries.size() > 1000);
  CHECK(std::any_of(entries.begin(), entries.end(), [](const json::value& e) {
    return e.at("name") == "query-status" && e.at("meta-type") == "command";
  }));
}

TEST_CASE_FIXTURE(Fixture, "QEMU killed while a command waits fails it at once") {
  qemu.signal(SIGSTOP);  // so the command is sure to be waiting when QEMU dies
  auto waiting = start(ioc, client.execute("query-status", {}, 60000ms));
  REQUIRE(run_until(ioc, [&] { return client.pending() == 1; }));
  const auto killed_at = std::chrono::steady_clock::now();
  qemu.signal(SIGKILL);
  REQUIRE(run_until(
      ioc, [&] { return waiting->has_value(); }, 5000ms));
  CHECK(std::chrono::steady_clock::now() - killed_at < 5s);
  REQUIRE_FALSE((*waiting)->has_value());
  const auto kind = (*waiting)->error().kind;
  CHECK((kind == QmpError::Kind::closed || kind == QmpError::Kind::transport));
  CHECK_FALSE(client.is_open());
  CHECK(qemu.wait_exit(5000ms).has_value());
}

TEST_CASE_FIXTURE(Fixture, "quit: SHUTDOWN, then a clean close and a clean exit") {
  REQUIRE(finish(ioc, quit(client)).has_value());
  REQUIRE(run_until(ioc, [&] { return saw("SHUTDOWN") && !client.is_open(); }));
  // QEMU may exit with our last bytes unread: EOF or reset, both mean "closed".
  CHECK(client.close_reason()->kind == QmpError::Kind::closed);
  const auto status = qemu.wait_exit(10000ms);
  REQUIRE(status.has_value());
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
}

TEST_CASE_FIXTURE(Fixture, "a new client reconnects to the same QEMU") {
  REQUIRE(finish(ioc, cont(client)).has_value());
  client.close();
  // QEMU accepts one monitor connection at a time; the second is served once the first is gone.
  QmpClient again = connect(ioc, qemu);
  std::vector<std::string> seen;
  again.on_event([&](const QmpEvent& e) { seen.push_back(e.name); });
  CHECK(again.greeting().major == 7);
  CHECK(finish(ioc, query_status(again)).value() == RunStatus{"running", true});
  REQUIRE(finish(ioc, stop(again)).has_value());
  REQUIRE(run_until(ioc, [&] { return !seen.empty(); }));
  CHECK(seen == std::vector<std::string>{"STOP"});
}

namespace {
// A virtio-serial bus unplugs its ports synchronously, so DEVICE_DELETED needs no guest.
struct SerialBusFixture : Fixture {
  SerialBusFixture() : Fixture({"-device", "virtio-serial-pci,id=vs0"}) {}
};
}  // namespace

TEST_CASE_FIXTURE(SerialBusFixture, "device_add, qom-get/qom-set, device_del and DEVICE_DELETED") {
  REQUIRE(finish(ioc, device_add(client, {{"driver", "virtserialport"},
                                          {"bus", "vs0.0"},
                                          {"id", "port1"},
                                          {"name", "org.qmd.test"}}))
              .has_value());
  CHECK(finish(ioc, qom_get(client, "/machine/peripheral/port1", "name")).value() ==
        json::value("org.qmd.test"));
  // Static properties are fixed once realized; QEMU says so and the port stays usable.
  const auto refused = finish(ioc, qom_set(client, "/machine/peripheral/port1", "nr", 5));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().kind == QmpError::Kind::command);
  CHECK(refused.error().cls == "GenericError");
  REQUIRE(finish(ioc, device_del(client, "port1")).has_value());
  REQUIRE(run_until(ioc, [&] { return saw("DEVICE_DELETED"); }));
  CHECK(events == std::vector<std::string>{"DEVICE_DELETED"});
  CHECK(event_data.back() ==
        json::object{{"device", "port1"}, {"path", "/machine/peripheral/port1"}});
  const auto again = finish(ioc, device_del(client, "port1"));
  CHECK(again.error() ==
        QmpError{QmpError::Kind::command, "DeviceNotFound", "Device 'port1' not found"});
}
