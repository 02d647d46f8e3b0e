// qmd.yaml's hostShutdown and autostart keys.
#include <doctest/doctest.h>

#include "daemon/config.hpp"

using qmd::daemon::AutostartConfig;
using qmd::daemon::HostShutdownConfig;
using qmd::daemon::parse_config;
using namespace std::chrono_literals;

namespace {

std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}

}  // namespace

TEST_CASE("without hostShutdown and autostart: shutdown within 300 s, no order, no delay") {
  auto config = parse_config("", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->host_shutdown == HostShutdownConfig{});
  CHECK(config->host_shutdown.action == HostShutdownConfig::Action::shutdown);
  CHECK(config->host_shutdown.timeout == 300s);
  CHECK(config->autostart == AutostartConfig{});
  CHECK(config->autostart.order.empty());
  CHECK(config->autostart.delay == 0ms);
}

TEST_CASE("hostShutdown: action and timeout") {
  auto config = parse_config("hostShutdown: {action: none, timeout: 2m}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->host_shutdown.action == HostShutdownConfig::Action::none);
  CHECK(config->host_shutdown.timeout == 120s);
  config = parse_config("hostShutdown:\n  timeout: 45s\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->host_shutdown.action == HostShutdownConfig::Action::shutdown);
  CHECK(config->host_shutdown.timeout == 45s);
  config = parse_config("hostShutdown: {timeout: 1500ms}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->host_shutdown.timeout == 2s);  // whole seconds, rounded up
}

TEST_CASE("hostShutdown: suspend") {
  auto config = parse_config("hostShutdown:\n  action: suspend\n", "qmd.yaml");
  REQUIRE(config.has_value());
  CHECK(config->host_shutdown.action == HostShutdownConfig::Action::suspend);
}

TEST_CASE("hostShutdown: bad values name the key and what it takes") {
  CHECK(errors_of("hostShutdown: {action: halt}\n") ==
        "hostShutdown.action: \"halt\" is not one of shutdown, suspend, none "
        "(qmd.yaml:1:24)\n");
  CHECK(errors_of("hostShutdown: {timeout: 300}\n") ==
        "hostShutdown.timeout: \"300\" is not a duration such as 300s, 5m or 500ms "
        "(qmd.yaml:1:25)\n");
  CHECK(errors_of("hostShutdown: {timeout: 0s}\n") ==
        "hostShutdown.timeout: 0s is out of range: use 1000 ms to 86400 s (qmd.yaml:1:25)\n");
  CHECK(errors_of("hostShutdown: {timout: 3s}\n").find("timout") != std::string::npos);
}

TEST_CASE("autostart: order and delay") {
  auto config = parse_config("autostart:\n  order: [db, web-1]\n  delay: 5s\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->autostart.order == std::vector<std::string>{"db", "web-1"});
  CHECK(config->autostart.delay == 5s);
  config = parse_config("autostart: {delay: 250ms}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->autostart.delay == 250ms);
  CHECK(config->autostart.order.empty());
}

TEST_CASE("autostart: names that are not VM names, twice, or not a list") {
  CHECK(errors_of("autostart: {order: [db, Web]}\n") ==
        "autostart.order: \"Web\" is not a VM name (lowercase letters, digits and '-') "
        "(qmd.yaml:1:20)\n");
  CHECK(errors_of("autostart: {order: [db, db]}\n") ==
        "autostart.order: db is listed twice; list each VM once (qmd.yaml:1:20)\n");
  CHECK(errors_of("autostart: {order: db}\n") ==
        "autostart.order: expected a list of VM names such as [db, web] (qmd.yaml:1:20)\n");
  CHECK(errors_of("autostart: {delay: soon}\n") ==
        "autostart.delay: \"soon\" is not a duration such as 300s, 5m or 500ms (qmd.yaml:1:20)\n");
}

TEST_CASE("secrets: dir and syncInterval, defaults, and bad values") {
  auto config = parse_config("stateDir: /srv/qmd\n", "qmd.yaml");
  REQUIRE(config.has_value());
  CHECK(secrets_dir(*config) == "/srv/qmd/secrets");
  CHECK(config->secrets_sync_interval == std::chrono::seconds(60));
  config = parse_config("secrets: {dir: /etc/qmd/secrets, syncInterval: 5m}\n", "qmd.yaml");
  REQUIRE(config.has_value());
  CHECK(secrets_dir(*config) == "/etc/qmd/secrets");
  CHECK(config->secrets_sync_interval == std::chrono::minutes(5));
  CHECK(errors_of("secrets: {dir: keys, syncInterval: 0s}\n") ==
        "secrets.dir: \"keys\" is not an absolute path; write it from / (qmd.yaml:1:16)\n"
        "secrets.syncInterval: 0s is out of range: use 1000 ms to 86400 s (qmd.yaml:1:36)\n");
}
