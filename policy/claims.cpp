#include "policy/claims.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace qmd::policy {

namespace {

constexpr std::size_t kMaxClaimName = 63;

bool kept_as_is(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

// The first component is a registry host when it looks like one (a dot, a port or
// "localhost"), as container tools decide.
bool is_domain(std::string_view first) {
  return first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
         std::ranges::any_of(first, [](char c) { return c >= 'A' && c <= 'Z'; });
}

}  // namespace

bool is_claim_name(std::string_view name) {
  static const std::regex kLabel("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  return !name.empty() && name.size() <= kMaxClaimName &&
         std::regex_match(name.begin(), name.end(), kLabel);
}

std::string claim_name_error(std::string_view name) {
  return fmt::format("\"{}\" is not a claim name: use 1 to {} lower-case letters, digits and "
                     "'-', starting and ending with a letter or digit (a DNS-1123 label)",
                     name, kMaxClaimName);
}

std::vector<std::string> claim_candidates(std::string_view claims_dir, std::string_view name) {
  std::vector<std::string> out;
  if (!is_claim_name(name)) {
    return out;
  }
  for (const auto& kind : kClaimFiles) {
    out.push_back(fmt::format("{}/{}{}", claims_dir, name, kind.extension));
  }
  return out;
}

std::optional<std::string> claim_format_of(std::string_view file_name) {
  for (const auto& kind : kClaimFiles) {
    if (file_name.ends_with(kind.extension)) {
      return std::string(kind.format);
    }
  }
  return std::nullopt;
}

std::optional<std::string> claim_of_file(std::string_view file_name) {
  for (const auto& kind : kClaimFiles) {
    if (file_name.ends_with(kind.extension)) {
      auto name = file_name.substr(0, file_name.size() - kind.extension.size());
      if (is_claim_name(name)) {
        return std::string(name);
      }
    }
  }
  return std::nullopt;
}

std::expected<ImageRef, std::string> parse_image_ref(std::string_view ref) {
  static const std::regex kDomain(
      "[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?(\\.[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)*"
      "(:[0-9]{1,5})?");
  static const std::regex kComponent("[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*");
  static const std::regex kTag("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  static const std::regex kDigest("[A-Za-z][A-Za-z0-9]*([-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  const auto bad = [&](std::string_view why) {
    return std::unexpected(fmt::format(
        "\"{}\" is not an image reference ({}); write it as [HOST[:PORT]/]PATH[:TAG][@DIGEST], "
        "e.g. quay.io/containerdisks/fedora:40",
        ref, why));
  };
  if (ref.empty() || ref.size() > kMaxImageRef) {
    return bad(fmt::format("it must have 1 to {} characters", kMaxImageRef));
  }
  ImageRef out;
  std::string rest(ref);
  if (const auto at = rest.find('@'); at != std::string::npos) {
    out.digest = rest.substr(at + 1);
    rest.resize(at);
    if (!std::regex_match(out.digest, kDigest)) {
      return bad("the digest after @ is not ALGORITHM:HEX");
    }
  }
  const auto slash = rest.rfind('/');
  if (const auto colon = rest.rfind(':');
      colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
    out.tag = rest.substr(colon + 1);
    rest.resize(colon);
    if (!std::regex_match(out.tag, kTag)) {
      return bad("the tag after : has letters, digits, '_', '.' and '-' only");
    }
  }
  if (const auto first = rest.find('/');
      first != std::string::npos && is_domain(std::string_view(rest).substr(0, first))) {
    out.domain = rest.substr(0, first);
    rest.erase(0, first + 1);
    if (!std::regex_match(out.domain, kDomain)) {
      return bad(fmt::format("\"{}\" is not a registry host", out.domain));
    }
  }
  out.path = rest;
  std::size_t start = 0;
  while (true) {
    const auto end = rest.find('/', start);
    const auto part = rest.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!std::regex_match(part, kComponent)) {
      return bad(fmt::format("\"{}\" is not a path component: lower-case letters and digits, "
                             "separated by '.', '_', '__' or '-'",
                             part));
    }
    if (end == std::string::npos) {
      break;
    }
    start = end + 1;
  }
  return out;
}

std::string image_file_stem(std::string_view ref) {
  std::string out;
  for (const char c : ref) {
    if (kept_as_is(c)) {
      out += c;
    } else {
      out += fmt::format("_{:02x}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

std::optional<std::string> image_ref_of_stem(std::string_view stem) {
  std::string out;
  for (std::size_t i = 0; i < stem.size(); ++i) {
    if (kept_as_is(stem[i])) {
      out += stem[i];
      continue;
    }
    if (stem[i] != '_' || i + 2 >= stem.size() || hex_value(stem[i + 1]) < 0 ||
        hex_value(stem[i + 2]) < 0) {
      return std::nullopt;
    }
    const char c = static_cast<char>(hex_value(stem[i + 1]) * 16 + hex_value(stem[i + 2]));
    if (kept_as_is(c)) {
      return std::nullopt;  // not how image_file_stem writes it: one name per reference
    }
    out += c;
    i += 2;
  }
  if (!parse_image_ref(out) || image_file_stem(out) != stem) {
    return std::nullopt;
  }
  return out;
}

}  // namespace qmd::policy
