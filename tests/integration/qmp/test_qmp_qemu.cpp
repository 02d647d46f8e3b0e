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
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/serialize.hpp>

#include "qmp/client.hpp"
#include "qmp/commands.hpp"
#include "tests/integration/qmp/qemu_process.hpp"
#include "tests/integration/support.hpp"
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

namespace {

struct CpuSlotsFixture : Fixture {
  CpuSlotsFixture() : Fixture({"-smp", "1,maxcpus=2"}) {}
};

// Names of the block nodes QEMU has, from query-named-block-nodes.
std::vector<std::string> node_names(asio::io_context& ioc, QmpClient& client) {
  const auto nodes = finish(ioc, client.execute("query-named-block-nodes", {{"flat", true}}));
  REQUIRE_MESSAGE(nodes.has_value(), nodes.error().to_string());
  std::vector<std::string> names;
  for (const auto& node : nodes->as_array()) {
    names.emplace_back(node.at("node-name").as_string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string human(asio::io_context& ioc, QmpClient& client, const std::string& command) {
  const auto out =
      finish(ioc, client.execute("human-monitor-command", {{"command-line", command}}));
  REQUIRE_MESSAGE(out.has_value(), out.error().to_string());
  return std::string(out->as_string());
}

}  // namespace

TEST_CASE_FIXTURE(CpuSlotsFixture, "query-hotpluggable-cpus, then device_add plugs the free slot") {
  const auto before = finish(ioc, query_hotpluggable_cpus(client)).value();
  REQUIRE(before.size() == 2);
  const auto free = std::find_if(before.begin(), before.end(),
                                 [](const HotpluggableCpu& c) { return !c.plugged(); });
  REQUIRE(free != before.end());
  CHECK(std::count_if(before.begin(), before.end(),
                      [](const HotpluggableCpu& c) { return c.plugged(); }) == 1);
  CHECK(free->type == "qemu64-x86_64-cpu");
  CHECK(free->vcpus_count == 1);
  REQUIRE(free->socket_id.has_value());
  REQUIRE(free->core_id.has_value());
  REQUIRE(free->thread_id.has_value());

  REQUIRE(finish(ioc, device_add(client, {{"driver", free->type},
                                          {"id", "cpu1"},
                                          {"socket-id", *free->socket_id},
                                          {"core-id", *free->core_id},
                                          {"thread-id", *free->thread_id}}))
              .has_value());
  const auto after = finish(ioc, query_hotpluggable_cpus(client)).value();
  REQUIRE(after.size() == 2);
  CHECK(std::all_of(after.begin(), after.end(),
                    [](const HotpluggableCpu& c) { return c.plugged(); }));
  CHECK(std::any_of(after.begin(), after.end(), [&](const HotpluggableCpu& c) {
    return c.qom_path == "/machine/peripheral/cpu1" && c.core_id == free->core_id;
  }));
  CHECK(finish(ioc, query_cpus_fast(client)).value().size() == 2);
  // A slot that does not exist: QEMU names the range.
  const auto bad = finish(ioc, device_add(client, {{"driver", free->type},
                                                   {"id", "cpu9"},
                                                   {"socket-id", 1},
                                                   {"core-id", 0},
                                                   {"thread-id", 0}}));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error() == QmpError{QmpError::Kind::command, "GenericError",
                                "Invalid CPU socket-id: 1 must be in range 0:0"});
}

TEST_CASE_FIXTURE(Fixture, "blockdev-add of a null-co and a raw file node, stats, blockdev-del") {
  CHECK(node_names(ioc, client).empty());
  REQUIRE(finish(ioc, blockdev_add(client, {{"driver", "null-co"}, {"node-name", "null0"}}))
              .has_value());
  const std::string image = dir.path() + "/disk.raw";
  std::ofstream(image).close();
  std::filesystem::resize_file(image, 1 << 20);
  const json::object file{{"driver", "file"}, {"node-name", "disk0-file"}, {"filename", image}};
  REQUIRE(
      finish(ioc, blockdev_add(client, {{"driver", "raw"}, {"node-name", "disk0"}, {"file", file}}))
          .has_value());
  CHECK(node_names(ioc, client) == std::vector<std::string>{"disk0", "disk0-file", "null0"});

  // No device uses them: query-blockstats lists backends only, unless asked for nodes.
  CHECK(finish(ioc, query_blockstats(client)).value() == std::vector<BlockStats>{});
  const auto stats = finish(ioc, query_blockstats(client, true)).value();
  std::vector<std::string> named;
  for (const auto& s : stats) {
    CHECK(s.device.empty());
    CHECK(s.rd_bytes == 0);
    CHECK(s.wr_operations == 0);
    named.push_back(s.node_name);
  }
  std::sort(named.begin(), named.end());
  CHECK(named == std::vector<std::string>{"disk0", "disk0-file", "null0"});

  REQUIRE(finish(ioc, blockdev_del(client, "null0")).has_value());
  REQUIRE(finish(ioc, blockdev_del(client, "disk0")).has_value());
  CHECK(node_names(ioc, client).empty());  // the file node went with its parent
  const auto unknown = finish(ioc, blockdev_del(client, "null0"));
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error() == QmpError{QmpError::Kind::command, "GenericError",
                                    "Failed to find node with node-name='null0'"});
}

namespace {
// q35's pcie.0 takes no hotplug; a root port does, and needs no guest to accept a device.
struct RootPortFixture : Fixture {
  RootPortFixture() : Fixture({"-device", "pcie-root-port,id=rp0,chassis=1"}) {}
};
}  // namespace

TEST_CASE_FIXTURE(RootPortFixture, "a disk's node in query-blockstats; blockdev-del refuses it") {
  REQUIRE(finish(ioc, blockdev_add(client, {{"driver", "null-co"}, {"node-name", "null0"}}))
              .has_value());
  REQUIRE(finish(ioc, device_add(client, {{"driver", "virtio-blk-pci"},
                                          {"id", "vd0"},
                                          {"bus", "rp0"},
                                          {"drive", "null0"}}))
              .has_value());
  CHECK(finish(ioc, query_blockstats(client)).value() ==
        std::vector<BlockStats>{
            {"", "null0", "/machine/peripheral/vd0/virtio-backend", 0, 0, 0, 0, 0}});
  // Until the guest lets the disk go (DEVICE_DELETED), its node stays.
  CHECK(finish(ioc, blockdev_del(client, "null0")).error() ==
        QmpError{QmpError::Kind::command, "GenericError", "Node null0 is in use"});
  CHECK(node_names(ioc, client) == std::vector<std::string>{"null0"});
}

TEST_CASE_FIXTURE(Fixture, "netdev_add user, then netdev_del; a second del is DeviceNotFound") {
  REQUIRE(finish(ioc, netdev_add(client, {{"type", "user"}, {"id", "net0"}})).has_value());
  CHECK(human(ioc, client, "info network").find("net0:") != std::string::npos);
  const auto twice = finish(ioc, netdev_add(client, {{"type", "user"}, {"id", "net0"}}));
  REQUIRE_FALSE(twice.has_value());
  CHECK(twice.error().cls == "GenericError");
  REQUIRE(finish(ioc, netdev_del(client, "net0")).has_value());
  CHECK(human(ioc, client, "info network").find("net0:") == std::string::npos);
  const auto gone = finish(ioc, netdev_del(client, "net0"));
  CHECK(gone.error() ==
        QmpError{QmpError::Kind::command, "DeviceNotFound", "Device 'net0' not found"});
}

namespace {
struct BalloonFixture : Fixture {
  BalloonFixture() : Fixture({"-m", "256", "-device", "virtio-balloon-pci,id=balloon0"}) {}
};
struct DisplayFixture : Fixture {
  DisplayFixture() : Fixture({"-device", "VGA,id=video0"}) {}
};
}  // namespace

TEST_CASE_FIXTURE(BalloonFixture, "balloon under -S: accepted, actual stays the RAM size") {
  CHECK(finish(ioc, query_balloon(client)).value() == 256 << 20);
  REQUIRE(finish(ioc, balloon(client, 128 << 20)).has_value());
  // No guest driver runs to give memory back, so nothing moves (and no BALLOON_CHANGE).
  CHECK(finish(ioc, query_balloon(client)).value() == 256 << 20);
  CHECK(events.empty());
}

TEST_CASE_FIXTURE(Fixture, "balloon without a balloon device is DeviceNotActive") {
  const QmpError inactive{QmpError::Kind::command, "DeviceNotActive",
                          "No balloon device has been activated"};
  CHECK(finish(ioc, query_balloon(client)).error() == inactive);
  CHECK(finish(ioc, balloon(client, 1 << 20)).error() == inactive);
}

TEST_CASE_FIXTURE(DisplayFixture, "screendump writes a PPM of the VGA console") {
  const std::string first = dir.path() + "/screen.ppm";
  REQUIRE(finish(ioc, screendump(client, first)).has_value());
  CHECK(qmd::itest::read_text(first).starts_with("P6\n640 480\n255\n"));
  const std::string second = dir.path() + "/screen-video0.ppm";
  REQUIRE(finish(ioc, screendump(client, second, "video0")).has_value());
  CHECK(qmd::itest::read_text(second).starts_with("P6\n"));
  const auto unknown = finish(ioc, screendump(client, second, "nope"));
  REQUIRE_FALSE(unknown.has_value());
  CHECK(unknown.error().kind == QmpError::Kind::command);
}

TEST_CASE_FIXTURE(Fixture, "screendump without a display device is a command error") {
  const auto none = finish(ioc, screendump(client, dir.path() + "/screen.ppm"));
  CHECK(none.error() == QmpError{QmpError::Kind::command, "GenericError",
                                 "There is no console to take a screendump from"});
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/screen.ppm"));
}

TEST_CASE_FIXTURE(Fixture, "migration capabilities and parameters read back as set") {
  const auto defaults = finish(ioc, query_migrate_capabilities(client)).value();
  CHECK(defaults.size() > 10);
  CHECK(std::none_of(defaults.begin(), defaults.end(), [](const auto& c) { return c.second; }));
  REQUIRE(finish(ioc, migrate_set_capabilities(
                          client, {{"events", true}, {"pause-before-switchover", true}}))
              .has_value());
  const auto now = finish(ioc, query_migrate_capabilities(client)).value();
  std::vector<std::string> on;
  for (const auto& [name, state] : now) {
    if (state) {
      on.push_back(name);
    }
  }
  CHECK(on == std::vector<std::string>{"events", "pause-before-switchover"});
  const auto unknown = finish(ioc, migrate_set_capabilities(client, {{"no-such", true}}));
  CHECK(unknown.error() == QmpError{QmpError::Kind::command, "GenericError",
                                    "Parameter 'capability' does not accept value 'no-such'"});

  const auto before = finish(ioc, client.execute("query-migrate-parameters")).value();
  CHECK(before.at("max-bandwidth") == 128 << 20);  // QEMU's slow default, in bytes/s
  REQUIRE(finish(ioc, migrate_set_parameters(
                          client, {{"max-bandwidth", 1LL << 30}, {"downtime-limit", 500}}))
              .has_value());
  const auto after = finish(ioc, client.execute("query-migrate-parameters")).value();
  CHECK(after.at("max-bandwidth") == 1LL << 30);
  CHECK(after.at("downtime-limit") == 500);
}

TEST_CASE_FIXTURE(Fixture, "query-migrate before any migration, and a migration that fails") {
  CHECK(finish(ioc, query_migrate(client)).value() == MigrationInfo{});
  REQUIRE(finish(ioc, migrate_cancel(client)).has_value());  // nothing to cancel: fine
  CHECK(finish(ioc, migrate_continue(client, "pre-switchover")).error() ==
        QmpError{QmpError::Kind::command, "GenericError", "Migration not in expected state: none"});
  // migrate answers before it connects; the failure shows in query-migrate.
  const std::string nowhere = dir.path() + "/nobody-listens.sock";
  REQUIRE(finish(ioc, migrate(client, "unix:" + nowhere)).has_value());
  MigrationInfo info;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    info = finish(ioc, query_migrate(client)).value();
    if (info.status == "failed") {
      break;
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(info.status == "failed");
  CHECK(info.error_desc == "Failed to connect to '" + nowhere + "': No such file or directory");
}

namespace {

// Polls query-status (every 10 ms, for at most 10 s) until it reads `status`.
bool status_becomes(asio::io_context& ioc, QmpClient& client, const std::string& status) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    const auto now = finish(ioc, query_status(client));
    REQUIRE_MESSAGE(now.has_value(), now.error().to_string());
    if (now->status == status) {
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      MESSAGE("query-status still says ", now->status);
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
}

// Two QEMUs: a source (-S, like every qmd VM) and a destination waiting with -incoming defer.
// MIGRATION statuses are recorded per side, in order.
struct MigrationPair {
  qmd::itest::TempDir dir{"mig"};
  asio::io_context ioc;
  Qemu source_qemu{dir.sub("src")};
  Qemu target_qemu{dir.sub("dst"), {"-incoming", "defer"}};
  QmpClient source = connect(ioc, source_qemu);
  QmpClient target = connect(ioc, target_qemu);
  std::vector<std::string> source_states, target_states, source_events;
  std::string uri = "unix:" + dir.path() + "/migrate.sock";

  MigrationPair() {
    source.on_event([this](const QmpEvent& e) {
      source_events.push_back(e.name);
      if (e.name == "MIGRATION") {
        source_states.emplace_back(e.data.at("status").as_string());
      }
    });
    target.on_event([this](const QmpEvent& e) {
      if (e.name == "MIGRATION") {
        target_states.emplace_back(e.data.at("status").as_string());
      }
    });
  }
  static bool has(const std::vector<std::string>& list, const std::string& item) {
    return std::find(list.begin(), list.end(), item) != list.end();
  }
  // Listen on the target (with events on, so its completion is seen), then start the source.
  void start_migration(std::vector<MigrationCapability> source_capabilities) {
    CHECK(finish(ioc, query_status(target)).value() == RunStatus{"inmigrate", false});
    REQUIRE(finish(ioc, migrate_set_capabilities(target, {{"events", true}})).has_value());
    REQUIRE(finish(ioc, migrate_incoming(target, uri)).has_value());
    REQUIRE(
        finish(ioc, migrate_set_capabilities(source, std::move(source_capabilities))).has_value());
    // QEMU's 128 MiB/s default would make the test needlessly slow.
    REQUIRE(
        finish(ioc, migrate_set_parameters(source, {{"max-bandwidth", 4LL << 30}})).has_value());
    REQUIRE(finish(ioc, migrate(source, uri)).has_value());
  }
};

}  // namespace

TEST_CASE_FIXTURE(MigrationPair,
                  "migrating a running VM over a unix socket, with a pause "
                  "before switchover") {
  REQUIRE(finish(ioc, cont(source)).has_value());
  start_migration({{"events", true}, {"pause-before-switchover", true}});
  REQUIRE(run_until(
      ioc, [&] { return has(source_states, "pre-switchover"); }, 30000ms));
  const auto paused = finish(ioc, query_migrate(source)).value();
  CHECK(paused.status == "pre-switchover");
  REQUIRE(paused.ram.has_value());
  CHECK(paused.ram->total > 0);
  CHECK(paused.ram->transferred > 0);
  CHECK(paused.ram->passes >= 1);
  CHECK(paused.setup_time.has_value());
  CHECK(paused.expected_downtime.has_value());
  CHECK(finish(ioc, query_status(source)).value() == RunStatus{"finish-migrate", false});

  REQUIRE(finish(ioc, migrate_continue(source, "pre-switchover")).has_value());
  REQUIRE(run_until(
      ioc, [&] { return has(source_states, "completed"); }, 30000ms));
  CHECK(source_states.front() == "setup");
  CHECK(source_states.back() == "completed");
  CHECK(has(source_states, "active"));
  CHECK(has(source_events, "STOP"));
  const auto done = finish(ioc, query_migrate(source)).value();
  CHECK(done.status == "completed");
  REQUIRE(done.ram.has_value());
  CHECK(done.ram->remaining == 0);
  CHECK(done.downtime.has_value());
  CHECK(done.total_time.has_value());
  // The MIGRATION "completed" event comes a moment before the source's run state moves from
  // finish-migrate to postmigrate, and no event marks that move.
  CHECK(status_becomes(ioc, source, "postmigrate"));

  // The target had -S: it takes over paused, and runs once told to.
  REQUIRE(run_until(
      ioc, [&] { return has(target_states, "completed"); }, 30000ms));
  CHECK(finish(ioc, query_status(target)).value() == RunStatus{"paused", false});
  REQUIRE(finish(ioc, cont(target)).has_value());
  CHECK(finish(ioc, query_status(target)).value() == RunStatus{"running", true});
}

TEST_CASE_FIXTURE(MigrationPair, "migrating a VM that never ran leaves the target in prelaunch") {
  start_migration({{"events", true}});
  REQUIRE(run_until(
      ioc, [&] { return has(source_states, "completed"); }, 30000ms));
  REQUIRE(run_until(
      ioc, [&] { return has(target_states, "completed"); }, 30000ms));
  // QEMU carries the source's run state over: prelaunch stays prelaunch.
  CHECK(finish(ioc, query_status(target)).value() == RunStatus{"prelaunch", false});
  CHECK(finish(ioc, query_migrate(target)).value().status == "completed");
}

TEST_CASE_FIXTURE(MigrationPair, "without the events capability there are no MIGRATION events") {
  start_migration({{"events", false}});
  MigrationInfo info;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  do {
    info = finish(ioc, query_migrate(source)).value();
    if (info.status == "completed" || info.status == "failed") {
      break;
    }
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < deadline);
  CHECK(info.status == "completed");
  CHECK(source_states.empty());
}

TEST_CASE_FIXTURE(Fixture, "add-fd passes a descriptor: a deleted image attaches from its set") {
  // The path is gone before QEMU is asked: only the descriptor can bring the image in.
  const std::string image = dir.path() + "/gone.raw";
  std::ofstream(image).close();
  std::filesystem::resize_file(image, 1 << 20);
  qmd::UniqueFd fd(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  REQUIRE(fd);
  std::filesystem::remove(image);
  // QEMU frees a set's descriptors only while the machine runs (monitor_fdset_cleanup).
  REQUIRE(finish(ioc, cont(client)).has_value());

  const auto added = finish(ioc, add_fd(client, std::move(fd), "file-gone"));
  REQUIRE_MESSAGE(added.has_value(), added.error().to_string());
  CHECK(added->fdset_id >= 0);
  const auto sets = finish(ioc, client.execute("query-fdsets", {})).value().as_array();
  REQUIRE(sets.size() == 1);
  CHECK(sets[0].at("fdset-id").as_int64() == added->fdset_id);
  CHECK(sets[0].at("fds").as_array()[0].at("opaque").as_string() == "file-gone");

  const json::object file{{"driver", "file"},
                          {"node-name", "gone-file"},
                          {"auto-read-only", false},
                          {"filename", "/dev/fdset/" + std::to_string(added->fdset_id)}};
  const auto attached =
      finish(ioc, blockdev_add(client, {{"driver", "raw"}, {"node-name", "gone"}, {"file", file}}));
  REQUIRE_MESSAGE(attached.has_value(), attached.error().to_string());
  // The monitor lets go of the set; the node keeps its own dup of the descriptor.
  REQUIRE(finish(ioc, remove_fd(client, added->fdset_id)).has_value());
  CHECK(node_names(ioc, client) == std::vector<std::string>{"gone", "gone-file"});
  REQUIRE(finish(ioc, blockdev_del(client, "gone")).has_value());
  const auto left = finish(ioc, client.execute("query-fdsets", {})).value();
  CHECK_MESSAGE(left.as_array().empty(), json::serialize(left));
}

TEST_CASE_FIXTURE(Fixture, "getfd names a descriptor, closefd drops it, an unknown name fails") {
  int ends[2] = {-1, -1};
  REQUIRE(::pipe2(ends, O_CLOEXEC) == 0);
  qmd::UniqueFd read_end(ends[0]);
  qmd::UniqueFd write_end(ends[1]);
  REQUIRE(finish(ioc, getfd(client, std::move(write_end), "state")).has_value());
  REQUIRE(finish(ioc, closefd(client, "state")).has_value());
  const auto again = finish(ioc, closefd(client, "state"));
  REQUIRE_FALSE(again.has_value());
  CHECK(again.error().desc == "File descriptor named 'state' not found");
  // qmd's copy was closed once sent and QEMU closed its own: the pipe has no writer left.
  char byte = 0;
  CHECK(::read(read_end.get(), &byte, 1) == 0);
}
