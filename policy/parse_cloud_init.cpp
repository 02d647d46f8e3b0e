// sysprep, cloudInitNoCloud and cloudInitConfigDrive, KubeVirt's fields: user data and network data,
// each inline, base64 or from a secret (a local one here: <secrets.dir>/NAME). Base64 is
// decoded and sizes are checked while parsing, so every error has its line:column.
#include <fmt/format.h>

#include <array>
#include <cstdint>

#include "policy/parse_parts.hpp"

namespace qmd::policy::parse_parts {

using yaml::MapReader;

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  return c == '/' ? 63 : -1;
}

struct Decoded {
  std::string bytes;
  std::string error;  // empty: decoded
};

// Standard base64 (RFC 4648) with its padding, as KubeVirt's Go StdEncoding takes it: line
// breaks are skipped, anything else outside the alphabet is an error.
Decoded decode_base64(std::string_view text) {
  std::string clean;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n' || c == '\r') {
      continue;
    }
    if (base64_value(c) < 0 && c != '=') {
      return {{}, fmt::format("is not base64: the byte 0x{:02x} at offset {} is not in its "
                              "alphabet (A-Z a-z 0-9 + / and = padding)",
                              static_cast<unsigned char>(c), i)};
    }
    clean += c;
  }
  if (clean.size() % 4 != 0) {
    return {{}, fmt::format("is not base64: {} characters is not a multiple of 4 (is its = "
                            "padding missing?)",
                            clean.size())};
  }
  Decoded out;
  for (std::size_t at = 0; at < clean.size(); at += 4) {
    const std::string_view quad(clean.data() + at, 4);
    const auto pad = quad.find('=');
    const bool last = at + 4 == clean.size();
    if (pad != std::string_view::npos &&
        (!last || pad < 2 || quad.find_first_not_of('=', pad) != std::string_view::npos)) {
      return {{}, fmt::format("is not base64: '=' padding in the middle (offset {})", at + pad)};
    }
    std::uint32_t group = 0;
    const std::size_t digits = pad == std::string_view::npos ? 4 : pad;
    for (std::size_t k = 0; k < 4; ++k) {
      group = (group << 6) | static_cast<std::uint32_t>(k < digits ? base64_value(quad[k]) : 0);
    }
    const std::array<char, 3> bytes{static_cast<char>(group >> 16),
                                    static_cast<char>((group >> 8) & 0xff),
                                    static_cast<char>(group & 0xff)};
    out.bytes.append(bytes.data(), digits - 1);
  }
  return out;
}

// `{name: N}`, N a local secret's name.
void read_secret_ref(MapReader& source, std::string_view key, std::string& out) {
  source.read_map(key, [&](MapReader& ref) {
    ref.require("name");
    ref.read("name", out);
    if (!out.empty() && !is_secret_name(out)) {
      ref.error_at("name", fmt::format("\"{}\" is not a secret name: use lowercase letters, "
                                       "digits, '-' and '.' (a Kubernetes object name)",
                                       out));
      out.clear();
    }
  });
}

struct DataKeys {
  std::string_view plain, base64, secret, what, secret_key;
};

constexpr DataKeys kUserData{"userData", "userDataBase64", "secretRef", "user data",
                             "userdata"};
constexpr DataKeys kNetworkData{"networkData", "networkDataBase64", "networkDataSecretRef",
                                "network data", "networkdata"};

// One of plain / base64 / secret; returns whether one was given.
bool read_data(MapReader& source, const DataKeys& keys, std::optional<std::string>& data,
               std::string& secret) {
  const auto which = source.one_of({keys.plain, keys.base64, keys.secret}, false);
  if (!which) {
    return source.has(keys.plain) || source.has(keys.base64) || source.has(keys.secret);
  }
  if (*which == 2) {
    read_secret_ref(source, keys.secret, secret);
    return true;
  }
  const std::string_view key = *which == 0 ? keys.plain : keys.base64;
  std::optional<std::string> text;
  source.read(key, text);
  if (!text) {
    return true;
  }
  if (*which == 1) {
    auto decoded = decode_base64(*text);
    if (!decoded.error.empty()) {
      source.error_at(key, std::move(decoded.error));
      return true;
    }
    text = std::move(decoded.bytes);
  }
  if (text->size() > kCloudInitInlineMax) {
    source.error_at(key, fmt::format("{} is {} bytes, over the {} bytes KubeVirt allows inline; "
                                     "put it in a local secret (<secrets.dir>/NAME/{}) and "
                                     "name it with {}: {{name: NAME}}",
                                     keys.what, text->size(), kCloudInitInlineMax,
                                     keys.secret_key, keys.secret));
    return true;
  }
  data = std::move(text);
  return true;
}

}  // namespace

// KubeVirt's sysprep: {configMap: {name}} or {secret: {name}}, both a local secret here.
void read_sysprep(MapReader& source, std::string& secret) {
  const auto which = source.one_of({"configMap", "secret"});
  if (which) {
    read_secret_ref(source, *which == 0 ? "configMap" : "secret", secret);
  }
}

void read_cloud_init(MapReader& source, CloudInitSource& out) {
  const bool user = read_data(source, kUserData, out.user_data, out.user_data_secret);
  const bool network =
      read_data(source, kNetworkData, out.network_data, out.network_data_secret);
  if (!user && !network) {
    source.doc().error(source.path(), source.mark(),
                       "needs user data or network data: userData, userDataBase64 or "
                       "secretRef, and/or networkData, networkDataBase64 or "
                       "networkDataSecretRef");
  }
}

}  // namespace qmd::policy::parse_parts
