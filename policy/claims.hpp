#pragma once
// Names of the local stand-ins for cluster storage: a claim (persistentVolumeClaim.claimName,
// dataVolume.name, `qmctl volume create N`) and a container disk image reference
// (containerDisk.image, `qmctl image import REF`). Both become file names under directories
// qmd owns, so both are checked here before any path is built from them. Pure.
#include <array>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qmd::policy {

// A claim name is a DNS-1123 label (Kubernetes' rule for PVC names that qmd keeps): 1 to 63
// lower-case letters, digits and '-', starting and ending with a letter or digit. So it can
// carry no '/', '.' or '..'.
bool is_claim_name(std::string_view name);
// Why `name` is not one, for errors: "\"../x\" is not a claim name: ...".
std::string claim_name_error(std::string_view name);

// The files a claim may be, in the order they are looked for, and the format each means
// (by the name, never by the content: a raw disk's guest could write a qcow2 header).
struct ClaimFileKind {
  std::string_view extension;  // ".qcow2"
  std::string_view format;     // "qcow2" | "raw"
};
inline constexpr std::array<ClaimFileKind, 3> kClaimFiles{
    {{".qcow2", "qcow2"}, {".img", "raw"}, {".raw", "raw"}}};

// <claims>/<name>.qcow2, .img, .raw for a valid claim name.
std::vector<std::string> claim_candidates(std::string_view claims_dir, std::string_view name);
// The format a claim file name means ("web.qcow2" -> qcow2), or nullopt for another name.
std::optional<std::string> claim_format_of(std::string_view file_name);
// The claim a file in the claims directory is ("web.qcow2" -> "web"), or nullopt.
std::optional<std::string> claim_of_file(std::string_view file_name);

// An image reference as a spec writes it, split by the grammar of container image names
// (registry host[:port]/path[:tag][@digest]); the store keys images by the text as written.
struct ImageRef {
  std::string domain;  // "quay.io", "registry:5000", or "" (none written)
  std::string path;    // "containerdisks/fedora"
  std::string tag;     // "40", or ""
  std::string digest;  // "sha256:…", or ""
};
inline constexpr std::size_t kMaxImageRef = 200;
std::expected<ImageRef, std::string> parse_image_ref(std::string_view ref);

// The file name stem an image reference is stored under: every byte other than [a-z0-9.-]
// written as _XX (hex), so distinct references never share a file and none can name a path
// ("quay.io/containerdisks/fedora:40" -> "quay.io_2fcontainerdisks_2ffedora_3a40"). Only for
// references parse_image_ref accepts.
std::string image_file_stem(std::string_view ref);
// The reference a stem was made from, or nullopt when `stem` is not one.
std::optional<std::string> image_ref_of_stem(std::string_view stem);

}  // namespace qmd::policy
