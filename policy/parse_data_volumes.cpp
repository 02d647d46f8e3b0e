// spec.dataVolumeTemplates (KubeVirt's VirtualMachine; CDI's DataVolume spec): what qmd
// needs to make the claim on this host — its name, one source (blank, pvc, registry, http)
// and its size from spec.storage or spec.pvc. Cluster-only fields are accepted with a
// warning; sources that need a cluster (s3, gcs, imageio, vddk, snapshot, upload) are errors
// naming what to use instead.
#include <fmt/format.h>

#include "policy/claims.hpp"
#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

namespace {

using yaml::MapReader;
using Source = DataVolumeTemplate::Source;

constexpr std::string_view kClusterOnly =
    "has no effect on one host (it picks storage in a cluster); ignored";

void read_metadata(MapReader& meta, DataVolumeTemplate& out) {
  meta.require("name");
  meta.read("name", out.name);
  if (meta.has("name") && !out.name.empty() && !is_claim_name(out.name)) {
    meta.error_at("name", claim_name_error(out.name));
  }
  for (auto key : {"namespace", "labels", "annotations"}) {
    meta.accept_ignored(key, kClusterOnly);
  }
  (void)meta.take("creationTimestamp");  // `null` in objects kubectl printed
}

// resources.requests.storage of spec.storage or spec.pvc.
void read_size(MapReader& claim, DataVolumeTemplate& out) {
  for (auto key : {"accessModes", "volumeMode", "storageClassName", "selector", "dataSource",
                   "dataSourceRef", "volumeName"}) {
    claim.accept_ignored(key, kClusterOnly);
  }
  claim.require("resources");
  claim.read_map("resources", [&](MapReader& resources) {
    resources.accept_ignored("limits", kClusterOnly);
    resources.require("requests");
    resources.read_map("requests", [&](MapReader& requests) {
      requests.require("storage");
      std::optional<std::uint64_t> bytes;
      requests.read_bytes("storage", bytes);
      if (bytes && *bytes == 0) {
        requests.error_at("storage", "must be more than 0 bytes, e.g. 10Gi");
      }
      out.size = bytes.value_or(0);
    });
  });
}

void read_registry(MapReader& registry, DataVolumeTemplate& out) {
  registry.require("url");
  std::string url;
  registry.read("url", url);
  for (auto key : {"secretRef", "certConfigMap", "pullMethod", "imageStream", "platform"}) {
    registry.accept_ignored(key, "has no effect here: qmd takes the image from its store");
  }
  if (!registry.has("url")) {
    return;
  }
  constexpr std::string_view kScheme = "docker://";
  if (!url.starts_with(kScheme)) {
    registry.error_at("url", fmt::format("\"{}\" is not docker://REFERENCE (qmd takes it from "
                                         "its image store: qmctl image import REFERENCE FILE)",
                                         url));
    return;
  }
  out.from = url.substr(kScheme.size());
  if (auto ref = parse_image_ref(out.from); !ref) {
    registry.error_at("url", ref.error());
  }
}

void read_http(MapReader& http, DataVolumeTemplate& out) {
  http.require("url");
  http.read("url", out.from);
  for (auto key : {"secretRef", "certConfigMap", "extraHeaders", "secretExtraHeaders"}) {
    http.reject(key, "is not supported by qmd's download: use a URL that needs none");
  }
  if (!http.has("url")) {
    return;
  }
  const bool scheme = out.from.starts_with("http://") || out.from.starts_with("https://");
  const bool printable = out.from.find_first_of(" \t\r\n\"'\\") == std::string::npos;
  if (!scheme || !printable || out.from.size() > 2048) {
    http.error_at("url", fmt::format("\"{}\" is not an http:// or https:// URL",
                                     out.from.substr(0, 200)));
  }
}

void read_source(MapReader& source, DataVolumeTemplate& out) {
  for (auto key : {"s3", "gcs", "imageio", "vddk", "snapshot", "upload"}) {
    source.reject(key, "needs a cluster (CDI); on one host use blank, pvc, registry or http, "
                       "or make the claim with qmctl volume create");
  }
  const auto which = source.one_of({"blank", "pvc", "registry", "http"});
  if (!which) {
    return;
  }
  out.source = static_cast<Source>(*which);
  switch (out.source) {
    case Source::blank:
      source.read_marker("blank");
      break;
    case Source::pvc:
      source.read_map("pvc", [&](MapReader& pvc) {
        pvc.require("name");
        pvc.read("name", out.from);
        pvc.accept_ignored("namespace", kClusterOnly);
        if (pvc.has("name") && !is_claim_name(out.from)) {
          pvc.error_at("name", claim_name_error(out.from));
        } else if (pvc.has("name") && out.from == out.name) {
          pvc.error_at("name", fmt::format("is the template's own claim {}; clone another "
                                           "claim, or use blank",
                                           out.name));
        }
      });
      break;
    case Source::registry:
      source.read_map("registry", [&](MapReader& r) { read_registry(r, out); });
      break;
    case Source::http:
      source.read_map("http", [&](MapReader& h) { read_http(h, out); });
      break;
  }
}

}  // namespace

void read_data_volume_template(MapReader& entry, std::size_t index, VmSpec& out) {
  DataVolumeTemplate made;
  made.index = index;
  entry.accept_ignored("apiVersion", kClusterOnly);
  entry.accept_ignored("kind", kClusterOnly);
  entry.require("metadata");
  entry.read_map("metadata", [&](MapReader& meta) {
    read_metadata(meta, made);
    for (const auto& earlier : out.data_volume_templates) {
      if (!made.name.empty() && earlier.name == made.name) {
        meta.error_at("name", fmt::format("claim {} is made by dataVolumeTemplates[{}] "
                                          "already; give each template its own name",
                                          made.name, earlier.index));
      }
    }
  });
  entry.require("spec");
  entry.read_map("spec", [&](MapReader& spec) {
    spec.require("source");
    spec.read_map("source", [&](MapReader& source) { read_source(source, made); });
    spec.reject("sourceRef", "needs a cluster (a DataSource); use source instead");
    for (auto key : {"contentType", "preallocation", "priorityClassName", "checkpoints",
                     "finalCheckpoint"}) {
      spec.accept_ignored(key, "has no effect on one host; ignored");
    }
    const auto sized = spec.one_of({"storage", "pvc"});
    if (sized) {
      spec.read_map(*sized == 0 ? "storage" : "pvc",
                    [&](MapReader& claim) { read_size(claim, made); });
    }
  });
  out.data_volume_templates.push_back(std::move(made));
}

}  // namespace qmd::policy::parse_parts
