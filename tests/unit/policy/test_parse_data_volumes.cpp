// dataVolumeTemplates: each source read into its template with its size; every bad input
// (an unknown or cluster-only source, a missing size, a name that could climb out of the
// claims directory, a bad URL) is an error naming the field at its line:column.
#include <doctest/doctest.h>

#include "policy/parse.hpp"

using namespace qmd::policy;
using Source = DataVolumeTemplate::Source;

namespace {

// A VirtualMachine with one dataVolumeTemplates entry whose spec is `dv` (indented by 6).
std::string vm(const std::string& name, const std::string& dv) {
  return "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
         "  dataVolumeTemplates:\n"
         "  - metadata: {name: " + name + "}\n"
         "    spec:\n" + dv +
         "  template:\n    spec:\n      domain: {devices: {}}\n";
}

const std::string kSize = "      storage: {resources: {requests: {storage: 64Mi}}}\n";

DataVolumeTemplate parsed(const std::string& text) {
  auto spec = parse_spec(text, "vm.yaml");
  REQUIRE_MESSAGE(spec, (spec ? "" : to_string(spec.error())));
  REQUIRE(spec->data_volume_templates.size() == 1);
  return spec->data_volume_templates[0];
}

std::string errors(const std::string& text) {
  auto spec = parse_spec(text, "vm.yaml");
  return spec ? std::string("(ok)") : to_string(spec.error());
}

}  // namespace

TEST_CASE("dataVolumeTemplates: none, none made") {
  auto spec = parse_spec(
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
      "  template:\n    spec:\n      domain: {devices: {}}\n",
      "vm.yaml");
  REQUIRE(spec);
  CHECK(spec->data_volume_templates.empty());
}

TEST_CASE("dataVolumeTemplates: blank, pvc, registry and http, sized by storage or pvc") {
  auto blank = parsed(vm("root", "      source: {blank: {}}\n" + kSize));
  CHECK(blank.name == "root");
  CHECK(blank.source == Source::blank);
  CHECK(blank.size == 64u << 20);
  auto clone = parsed(vm("copy", "      source: {pvc: {name: root, namespace: x}}\n"
                                 "      pvc: {accessModes: [ReadWriteOnce], resources: "
                                 "{requests: {storage: 1Gi}}}\n"));
  CHECK(clone.source == Source::pvc);
  CHECK(clone.from == "root");
  CHECK(clone.size == 1u << 30);
  auto registry = parsed(vm("img", "      source: {registry: {url: "
                                   "\"docker://quay.io/containerdisks/fedora:40\"}}\n" + kSize));
  CHECK(registry.source == Source::registry);
  CHECK(registry.from == "quay.io/containerdisks/fedora:40");
  auto http = parsed(vm("web", "      source: {http: {url: \"http://127.0.0.1:8080/d.img\"}}\n" +
                                   kSize));
  CHECK(http.source == Source::http);
  CHECK(http.from == "http://127.0.0.1:8080/d.img");
}

TEST_CASE("dataVolumeTemplates: bad input names the field at its line:column") {
  const auto unknown = errors(vm("root", "      source: {nfs: {}}\n" + kSize));
  CHECK(unknown.find("spec.dataVolumeTemplates[0].spec.source.nfs") != std::string::npos);
  CHECK(unknown.find("vm.yaml:8:") != std::string::npos);
  const auto cluster = errors(vm("root", "      source: {s3: {url: x}}\n" + kSize));
  CHECK(cluster.find("spec.dataVolumeTemplates[0].spec.source.s3") != std::string::npos);
  CHECK(cluster.find("needs a cluster") != std::string::npos);
  const auto no_size = errors(vm("root", "      source: {blank: {}}\n"));
  CHECK(no_size.find("spec.dataVolumeTemplates[0].spec") != std::string::npos);
  CHECK(no_size.find("storage") != std::string::npos);
  const auto no_request = errors(vm("root", "      source: {blank: {}}\n"
                                            "      storage: {resources: {requests: {}}}\n"));
  CHECK(no_request.find("spec.dataVolumeTemplates[0].spec.storage.resources.requests.storage") !=
        std::string::npos);
  const auto climbs = errors(vm("../../etc/x", "      source: {blank: {}}\n" + kSize));
  CHECK(climbs.find("spec.dataVolumeTemplates[0].metadata.name") != std::string::npos);
  CHECK(climbs.find("is not a claim name") != std::string::npos);
  CHECK(climbs.find("vm.yaml:6:") != std::string::npos);
  const auto clone_climbs =
      errors(vm("root", "      source: {pvc: {name: ../x}}\n" + kSize));
  CHECK(clone_climbs.find("spec.dataVolumeTemplates[0].spec.source.pvc.name") !=
        std::string::npos);
  const auto self = errors(vm("root", "      source: {pvc: {name: root}}\n" + kSize));
  CHECK(self.find("own claim") != std::string::npos);
  const auto not_docker =
      errors(vm("root", "      source: {registry: {url: \"oci://x/y\"}}\n" + kSize));
  CHECK(not_docker.find("spec.dataVolumeTemplates[0].spec.source.registry.url") !=
        std::string::npos);
  CHECK(not_docker.find("qmctl image import") != std::string::npos);
  const auto file_url = errors(vm("root", "      source: {http: {url: \"file:///etc/shadow\"}}\n" +
                                              kSize));
  CHECK(file_url.find("spec.dataVolumeTemplates[0].spec.source.http.url") != std::string::npos);
  CHECK(file_url.find("not an http:// or https:// URL") != std::string::npos);
  const auto zero = errors(vm("root", "      source: {blank: {}}\n"
                                      "      storage: {resources: {requests: {storage: 0}}}\n"));
  CHECK(zero.find("more than 0 bytes") != std::string::npos);
}

TEST_CASE("dataVolumeTemplates: two templates of one claim are refused") {
  const auto text =
      "apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata: {name: t}\nspec:\n"
      "  dataVolumeTemplates:\n"
      "  - metadata: {name: root}\n    spec: {source: {blank: {}}, storage: {resources: "
      "{requests: {storage: 1Mi}}}}\n"
      "  - metadata: {name: root}\n    spec: {source: {blank: {}}, storage: {resources: "
      "{requests: {storage: 1Mi}}}}\n"
      "  template:\n    spec:\n      domain: {devices: {}}\n";
  const auto both = errors(text);
  CHECK(both.find("spec.dataVolumeTemplates[1].metadata.name") != std::string::npos);
  CHECK(both.find("dataVolumeTemplates[0] already") != std::string::npos);
}
