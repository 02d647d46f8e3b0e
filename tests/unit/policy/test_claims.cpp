#include <doctest/doctest.h>

#include "policy/claims.hpp"
#include "tests/unit/policy/test_validate_fixture.hpp"

using namespace qmd::policy;
using namespace qmd::policy::test;

namespace {
VmSpec with_volume(Volume v) {
  auto spec = minimal_vm();
  spec.domain.devices.disks.push_back(disk(v.name));
  spec.volumes.push_back(std::move(v));
  return apply_defaults(std::move(spec));
}

Volume claim_volume(VolumeKind kind, std::string claim) {
  auto v = file_volume("d", "");
  v.kind = kind;
  v.claim_name = std::move(claim);
  return v;
}
}  // namespace

TEST_CASE("claim names are DNS-1123 labels: no path can be made of one") {
  CHECK(is_claim_name("web"));
  CHECK(is_claim_name("a"));
  CHECK(is_claim_name("fedora-40-root"));
  CHECK(is_claim_name(std::string(63, 'a')));
  CHECK_FALSE(is_claim_name(""));
  CHECK_FALSE(is_claim_name(std::string(64, 'a')));
  CHECK_FALSE(is_claim_name("../../etc/passwd"));
  CHECK_FALSE(is_claim_name(".."));
  CHECK_FALSE(is_claim_name("a/b"));
  CHECK_FALSE(is_claim_name("Web"));
  CHECK_FALSE(is_claim_name("-web"));
  CHECK_FALSE(is_claim_name("web-"));
  CHECK_FALSE(is_claim_name("web.qcow2"));
  CHECK_FALSE(is_claim_name(std::string("we\0b", 4)));
}

TEST_CASE("a claim is looked for as .qcow2, .img, .raw; the name alone gives the format") {
  CHECK(claim_candidates("/srv/claims", "web") ==
        std::vector<std::string>{"/srv/claims/web.qcow2", "/srv/claims/web.img",
                                 "/srv/claims/web.raw"});
  CHECK(claim_candidates("/srv/claims", "../x").empty());
  CHECK(claim_format_of("web.qcow2") == "qcow2");
  CHECK(claim_format_of("web.img") == "raw");
  CHECK(claim_format_of("web.raw") == "raw");
  CHECK(claim_format_of("web.vmdk") == std::nullopt);
  CHECK(claim_of_file("web.qcow2") == "web");
  CHECK(claim_of_file("Web.qcow2") == std::nullopt);
  CHECK(claim_of_file(".qcow2") == std::nullopt);
  CHECK(claim_of_file("notes.txt") == std::nullopt);
}

TEST_CASE("image references: KubeVirt's examples parse, into their parts") {
  auto fedora = parse_image_ref("quay.io/containerdisks/fedora:40");
  REQUIRE(fedora);
  CHECK(fedora->domain == "quay.io");
  CHECK(fedora->path == "containerdisks/fedora");
  CHECK(fedora->tag == "40");
  auto demo = parse_image_ref("registry:5000/kubevirt/cirros-container-disk-demo:devel");
  REQUIRE(demo);
  CHECK(demo->domain == "registry:5000");
  CHECK(demo->path == "kubevirt/cirros-container-disk-demo");
  CHECK(demo->tag == "devel");
  auto plain = parse_image_ref("fedora");
  REQUIRE(plain);
  CHECK(plain->domain == "");
  CHECK(plain->path == "fedora");
  CHECK(plain->tag == "");
  auto pinned = parse_image_ref("localhost/my_disk@sha256:" + std::string(64, 'a'));
  REQUIRE(pinned);
  CHECK(pinned->domain == "localhost");
  CHECK(pinned->digest == "sha256:" + std::string(64, 'a'));
}

TEST_CASE("image references that are not: each error names the reference and the part") {
  for (const char* bad : {"", "../../etc/passwd", "/abs/path", "quay.io//x", "a/../b",
                          "Fedora", "quay.io/fedora:", "quay.io/fedora:bad tag", "x@sha256:zz",
                          "a b", "quay.io/fedora:40/x"}) {
    CAPTURE(bad);
    auto parsed = parse_image_ref(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().find("is not an image reference") != std::string::npos);
  }
  CHECK(parse_image_ref("..").error() ==
        "\"..\" is not an image reference (\"..\" is not a path component: lower-case letters "
        "and digits, separated by '.', '_', '__' or '-'); write it as "
        "[HOST[:PORT]/]PATH[:TAG][@DIGEST], e.g. quay.io/containerdisks/fedora:40");
  CHECK_FALSE(parse_image_ref(std::string(kMaxImageRef + 1, 'a')));
}

TEST_CASE("an image reference is stored under a stem that is one file name, and back") {
  CHECK(image_file_stem("quay.io/containerdisks/fedora:40") ==
        "quay.io_2fcontainerdisks_2ffedora_3a40");
  CHECK(image_file_stem("a_b/c") == "a_5fb_2fc");
  CHECK(image_file_stem("a/b_c") == "a_2fb_5fc");  // no two references share a stem
  for (const char* ref : {"quay.io/containerdisks/fedora:40", "registry:5000/kubevirt/x:devel",
                          "a__b/c", "Localhost:1/x"}) {
    CAPTURE(ref);
    const auto stem = image_file_stem(ref);
    CHECK(stem.find('/') == std::string::npos);
    CHECK(image_ref_of_stem(stem) == ref);
  }
  CHECK(image_ref_of_stem("quay.io_2") == std::nullopt);
  CHECK(image_ref_of_stem("a_2e") == std::nullopt);  // '.' is written as itself
  CHECK(image_ref_of_stem("_2e_2e") == std::nullopt);
  CHECK(image_ref_of_stem("index") == "index");
}

TEST_CASE("validation: claims and images are accepted by name, bad names at their field") {
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::persistent_volume_claim, "web"))) == "");
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::data_volume, "web"))) == "");
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::container_disk, "quay.io/x/y:1"))) ==
        "");
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::persistent_volume_claim, "../x"))) ==
        "spec.template.spec.volumes[0].persistentVolumeClaim.claimName: \"../x\" is not a claim "
        "name: use 1 to 63 lower-case letters, digits and '-', starting and ending with a "
        "letter or digit (a DNS-1123 label) (<spec>)\n");
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::data_volume, "A"))).starts_with(
      "spec.template.spec.volumes[0].dataVolume.name: \"A\" is not a claim name"));
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::ephemeral, "web"))) == "");
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::ephemeral, "../x"))).starts_with(
      "spec.template.spec.volumes[0].ephemeral.persistentVolumeClaim.claimName: \"../x\" is "
      "not a claim name"));
  CHECK(errors_of(with_volume(claim_volume(VolumeKind::container_disk, "/etc/passwd")))
            .starts_with("spec.template.spec.volumes[0].containerDisk.image: \"/etc/passwd\" is "
                         "not an image reference"));
}
