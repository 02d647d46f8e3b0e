#include <doctest/doctest.h>

#include "daemon/config.hpp"

using qmd::daemon::parse_config;

namespace {
std::string errors_of(const std::string& text) {
  auto config = parse_config(text, "qmd.yaml");
  return config ? "" : qmd::policy::to_string(config.error());
}
}  // namespace

TEST_CASE("storage.claims and storage.images: claims/ and images/ in the first root") {
  auto config = parse_config("stateDir: /var/lib/x\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(qmd::daemon::claims_dir(*config) == "/var/lib/x/storage/claims");
  CHECK(qmd::daemon::images_dir(*config) == "/var/lib/x/storage/images");
  auto roots = parse_config("storage:\n  roots: [/srv/vms, /srv/isos]\n", "qmd.yaml");
  REQUIRE(roots);
  CHECK(qmd::daemon::claims_dir(*roots) == "/srv/vms/claims");
  CHECK(qmd::daemon::images_dir(*roots) == "/srv/vms/images");
  auto set = parse_config(
      "storage:\n  roots: [/srv/vms, /srv/isos]\n  claims: /srv/vms/pvc/\n"
      "  images: /srv/isos/store\n",
      "qmd.yaml");
  REQUIRE(set);
  CHECK(qmd::daemon::claims_dir(*set) == "/srv/vms/pvc");
  CHECK(qmd::daemon::images_dir(*set) == "/srv/isos/store");
}

TEST_CASE("storage.claims and .images lie beneath a root, not at it or outside") {
  CHECK(errors_of("storage:\n  roots: [/srv/vms]\n  claims: /var/claims\n") ==
        "storage.claims: /var/claims is not beneath a storage root (/srv/vms); put it in one, "
        "or add a root that holds it to storage.roots (qmd.yaml:3:11)\n");
  CHECK(errors_of("storage:\n  roots: [/srv/vms]\n  images: /srv/vms\n")
            .starts_with("storage.images: /srv/vms is not beneath a storage root"));
  CHECK(errors_of("storage:\n  roots: [/srv/vms]\n  images: /srv/vmsx/i\n")
            .starts_with("storage.images: /srv/vmsx/i is not beneath"));
  CHECK(errors_of("storage:\n  roots: [/srv/vms]\n  claims: /srv/vms/../etc\n")
            .starts_with("storage.claims: /srv/vms/../etc is not beneath"));
  CHECK(errors_of("storage:\n  claims: claims\n")
            .starts_with("storage.claims: \"claims\" is not an absolute path"));
}

TEST_CASE("storage.claimDevices: claim names to device paths") {
  auto config = parse_config("storage:\n  claimDevices: {db: /dev/vg0/db}\n", "qmd.yaml");
  REQUIRE(config);
  CHECK(config->claim_devices == std::map<std::string, std::string>{{"db", "/dev/vg0/db"}});
  CHECK(errors_of("storage:\n  claimDevices: {../x: /dev/sda}\n")
            .starts_with("storage.claimDevices: \"../x\" is not a claim name"));
  CHECK(errors_of("storage:\n  claimDevices: {db: /etc/shadow}\n") ==
        "storage.claimDevices: claim db: /etc/shadow is not a device path; write it from /dev/ "
        "(qmd.yaml:2:17)\n");
}
