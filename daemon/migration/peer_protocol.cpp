#include "daemon/migration/peer_protocol.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <limits>
#include <span>

#include "qmp/qga_commands.hpp"

namespace qmd::daemon::migration {

namespace json = boost::json;

namespace {

constexpr std::string_view kRequestFields[] = {"specText",
                                               "uuid",
                                               "machineType",
                                               "nvram",
                                               "capabilities",
                                               "multifdChannels",
                                               "source",
                                               "arriveWithinSeconds",
                                               "finishWithinSeconds",
                                               "transport",
                                               "bootId",
                                               "disks",
                                               "tscFrequency",
                                               "tls"};
constexpr std::string_view kCommitFields[] = {"resume"};

// A peer's JSON, parsed with a depth cap once its size is known to be within `max_bytes`.
Parsed<json::object> parse_object(std::string_view body, std::size_t max_bytes,
                                  std::string_view what) {
  if (body.size() > max_bytes) {
    return std::unexpected(PeerError{
        fmt::format("{} is {} bytes; at most {} are taken", what, body.size(), max_bytes)});
  }
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return json::object{};
  }
  json::parse_options options;
  options.max_depth = 16;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec, {}, options);
  if (ec || !value.is_object()) {
    return std::unexpected(PeerError{
        fmt::format("{} is not a JSON object{}", what, ec ? " (" + ec.message() + ")" : "")});
  }
  return std::move(value.as_object());
}

// Reads typed fields out of one object; the first problem is kept (readers then return
// defaults) and finish() reports it.
class Fields {
 public:
  explicit Fields(const json::object& object) : object_(object) {}

  const json::value* raw(std::string_view key) const {
    const auto* v = object_.if_contains(key);
    return v == nullptr || v->is_null() ? nullptr : v;
  }
  void fail(std::string message) {
    if (!error_) {
      error_ = PeerError{std::move(message)};
    }
  }
  // Absent, null or "": empty. Longer than `cap`: refused.
  std::string text(std::string_view key, std::size_t cap = kMaxFieldBytes) {
    const auto* v = raw(key);
    if (v == nullptr) {
      return {};
    }
    if (!v->is_string()) {
      fail(fmt::format("\"{}\" must be a string", key));
      return {};
    }
    if (v->as_string().size() > cap) {
      fail(fmt::format("\"{}\" is longer than {} bytes", key, cap));
      return {};
    }
    return std::string(v->as_string());
  }
  bool boolean(std::string_view key, bool fallback = false) {
    const auto* v = raw(key);
    if (v == nullptr) {
      return fallback;
    }
    if (!v->is_bool()) {
      fail(fmt::format("\"{}\" must be true or false", key));
      return fallback;
    }
    return v->as_bool();
  }
  // A whole number in [min, max]; absent or null: `fallback`.
  std::int64_t number(std::string_view key, std::int64_t fallback, std::int64_t min,
                      std::int64_t max, std::string_view wrong) {
    const auto* v = raw(key);
    if (v == nullptr) {
      return fallback;
    }
    if (!v->is_int64() || v->as_int64() < min || v->as_int64() > max) {
      fail(std::string(wrong));
      return fallback;
    }
    return v->as_int64();
  }
  std::chrono::seconds seconds(std::string_view key, std::int64_t fallback, std::int64_t max) {
    return std::chrono::seconds{
        number(key, fallback, 1, max,
               fmt::format("\"{}\" must be a whole number of seconds from 1 to {}", key, max))};
  }
  std::vector<std::string> strings(std::string_view key, std::size_t max_items) {
    const auto* v = raw(key);
    std::vector<std::string> out;
    if (v == nullptr) {
      return out;
    }
    if (!v->is_array() || v->as_array().size() > max_items) {
      fail(fmt::format("\"{}\" must be an array of at most {} strings", key, max_items));
      return {};
    }
    for (const auto& item : v->as_array()) {
      if (!item.is_string() || item.as_string().size() > kMaxFieldBytes) {
        fail(fmt::format("\"{}\" must be an array of strings", key));
        return {};
      }
      out.emplace_back(item.as_string());
    }
    return out;
  }
  template <typename T>
  Parsed<T> finish(T value) && {
    if (error_) {
      return std::unexpected(std::move(*error_));
    }
    return value;
  }

 private:
  const json::object& object_;
  std::optional<PeerError> error_;
};

std::optional<PeerError> unknown_field(const json::object& object,
                                       std::span<const std::string_view> known) {
  for (const auto& member : object) {
    if (std::ranges::find(known, std::string_view(member.key())) == known.end()) {
      return PeerError{fmt::format("unknown field \"{}\" in the request body (known: {})",
                                   std::string_view(member.key()).substr(0, 64),
                                   fmt::join(known, ", "))};
    }
  }
  return std::nullopt;
}

// Spec names as validation caps them: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 24.
bool valid_disk_name(std::string_view name) {
  const auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (name.empty() || name.size() > 24 || !ok(name.front()) || !ok(name.back())) {
    return false;
  }
  return std::ranges::all_of(name, [&](char c) { return ok(c) || c == '-'; });
}

bool printable(std::string_view text) {
  return std::ranges::none_of(text, [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

json::array disks_json(const std::vector<CopyDisk>& disks) {
  json::array out;
  for (const auto& disk : disks) {
    out.push_back(json::object{
        {"name", disk.name}, {"path", disk.path}, {"format", disk.format}, {"size", disk.size}});
  }
  return out;
}

Parsed<std::vector<CopyDisk>> parse_disks(const json::value& value) {
  if (!value.is_array() || value.as_array().size() > kMaxDisks) {
    return std::unexpected(
        PeerError{fmt::format("\"disks\" must be a list of at most {} disks", kMaxDisks)});
  }
  std::vector<CopyDisk> out;
  for (const auto& entry : value.as_array()) {
    const std::size_t index = out.size();
    if (!entry.is_object()) {
      return std::unexpected(PeerError{fmt::format("\"disks\"[{}] is not an object", index)});
    }
    Fields fields(entry.as_object());
    CopyDisk disk;
    disk.name = fields.text("name");
    disk.path = fields.text("path");
    disk.format = fields.text("format");
    disk.size = static_cast<std::uint64_t>(
        fields.number("size", 0, 0, std::numeric_limits<std::int64_t>::max(), "bad size"));
    auto checked = std::move(fields).finish(std::move(disk));
    if (!checked || !valid_disk_name(checked->name) || checked->path.empty() ||
        checked->path.front() != '/' || !printable(checked->path) ||
        (checked->format != "raw" && checked->format != "qcow2") || checked->size == 0) {
      return std::unexpected(PeerError{fmt::format(
          "\"disks\"[{}] is not {{name, path (absolute), format raw|qcow2, size}}", index)});
    }
    out.push_back(std::move(*checked));
  }
  return out;
}

json::object nbd_json(const NbdAddress& address) {
  if (address.kind == NbdAddress::Kind::unix_socket) {
    return {{"type", "unix"}, {"path", address.path}};
  }
  return {{"type", "inet"}, {"host", address.host}, {"port", address.port}};
}

Parsed<NbdAddress> parse_nbd(const json::value& value) {
  const PeerError wrong{
      "\"nbd\" is not {type unix, path} or {type inet, host, port}: the destination exports "
      "no disks"};
  if (!value.is_object()) {
    return std::unexpected(wrong);
  }
  Fields fields(value.as_object());
  NbdAddress address;
  const std::string type = fields.text("type");
  address.path = fields.text("path");
  address.host = fields.text("host");
  address.port = fields.text("port");
  auto read = std::move(fields).finish(0);
  const bool digits =
      !address.port.empty() && address.port.size() <= 5 &&
      std::ranges::all_of(address.port, [](char c) { return c >= '0' && c <= '9'; });
  if (read && type == "unix" && address.path.starts_with('/') && printable(address.path)) {
    address.kind = NbdAddress::Kind::unix_socket;
    return address;
  }
  if (read && type == "inet" && !address.host.empty() && printable(address.host) && digits) {
    address.kind = NbdAddress::Kind::inet;
    return address;
  }
  return std::unexpected(wrong);
}

// A migration URI the source hands its QEMU: only the two kinds a qmd destination makes.
bool acceptable_uri(std::string_view uri) {
  if (!printable(uri) || uri.find(',') != std::string_view::npos) {
    return false;
  }
  if (uri.starts_with("unix:")) {
    return uri.size() > 6 && uri[5] == '/';
  }
  if (uri.starts_with("tcp:")) {
    const auto colon = uri.rfind(':');
    const auto port = uri.substr(colon + 1);
    return colon > 4 && !port.empty() && port.size() <= 5 &&
           std::ranges::all_of(port, [](char c) { return c >= '0' && c <= '9'; });
  }
  return false;
}

}  // namespace

std::string to_body(const IncomingRequest& request) {
  json::object body;
  body["specText"] = request.spec_text;
  if (!request.disks.empty()) {
    body["disks"] = disks_json(request.disks);
  }
  body["uuid"] = request.uuid;
  body["source"] = request.source;
  body["machineType"] = request.machine_type;
  if (request.tsc_frequency) {
    body["tscFrequency"] = *request.tsc_frequency;
  }
  if (request.nvram) {
    body["nvram"] = qmp::encode_base64(*request.nvram);
  }
  json::array capabilities;
  for (const auto& name : request.capabilities) {
    capabilities.emplace_back(name);
  }
  body["capabilities"] = std::move(capabilities);
  if (request.multifd_channels > 0) {
    body["multifdChannels"] = request.multifd_channels;
  }
  if (request.arrive_within != IncomingRequest{}.arrive_within) {
    body["arriveWithinSeconds"] = request.arrive_within.count();
  }
  body["finishWithinSeconds"] = request.finish_within.count();
  body["transport"] = request.transport;
  if (request.tls) {
    body["tls"] = true;  // absent otherwise: a qmd without migration.tls support still answers
  }
  body["bootId"] = request.boot_id;
  return json::serialize(body);
}

Parsed<IncomingRequest> parse_incoming_request(std::string_view body) {
  auto object = parse_object(body, kMaxRequestBytes, "the request body");
  if (!object) {
    return std::unexpected(object.error());
  }
  if (auto unknown = unknown_field(*object, kRequestFields)) {
    return std::unexpected(*unknown);
  }
  Fields fields(*object);
  IncomingRequest in;
  in.spec_text = fields.text("specText", kMaxRequestBytes);
  if (in.spec_text.empty()) {
    fields.fail("\"specText\" is required");
  }
  in.uuid = fields.text("uuid");
  in.machine_type = fields.text("machineType");
  if (auto nvram = fields.text("nvram", kMaxRequestBytes); !nvram.empty()) {
    in.nvram = qmp::decode_base64(nvram);
    if (!in.nvram) {
      fields.fail("\"nvram\" is not base64");
    }
  }
  in.capabilities = fields.strings("capabilities", kMaxCapabilities);
  for (const auto& name : in.capabilities) {
    if (name != "postcopy-ram" && name != "multifd") {
      fields.fail(
          fmt::format("capability \"{}\" is not one qmd sets on a destination "
                      "(postcopy-ram, multifd)",
                      printable(name) ? name.substr(0, 64) : "?"));
    }
  }
  in.multifd_channels = static_cast<std::uint32_t>(fields.number(
      "multifdChannels", 0, 0, 64, "\"multifdChannels\" must be a whole number from 0 to 64"));
  in.source = fields.text("source");
  in.transport = fields.text("transport");
  if (in.transport.empty()) {
    in.transport = "auto";
  } else if (in.transport != "auto" && in.transport != "unix" && in.transport != "tcp") {
    fields.fail("\"transport\" must be auto, unix or tcp");
  }
  in.boot_id = fields.text("bootId");
  in.tls = fields.boolean("tls");
  if (const auto* hz = fields.raw("tscFrequency")) {
    if (hz->is_int64() && hz->as_int64() > 0) {
      in.tsc_frequency = static_cast<std::uint64_t>(hz->as_int64());
    } else {
      fields.fail("\"tscFrequency\" must be a positive whole number of Hz");
    }
  }
  if (const auto* disks = fields.raw("disks")) {
    auto parsed = parse_disks(*disks);
    if (parsed) {
      in.disks = std::move(*parsed);
    } else {
      fields.fail(parsed.error().message);
    }
  }
  in.arrive_within = fields.seconds("arriveWithinSeconds", 60, 3600);
  in.finish_within = fields.seconds("finishWithinSeconds", 900, 86400 + 3600);
  return std::move(fields).finish(std::move(in));
}

std::string to_body(const IncomingReady& ready) {
  json::object out;
  out["name"] = ready.name;
  out["uri"] = ready.uri;
  out["tls"] = ready.tls;
  if (ready.nbd) {
    out["nbd"] = nbd_json(*ready.nbd);
  }
  return json::serialize(out);
}

Parsed<IncomingReady> parse_incoming_ready(std::string_view body, bool expect_nbd) {
  auto object = parse_object(body, kMaxReplyBytes, "the destination's answer");
  if (!object) {
    return std::unexpected(object.error());
  }
  Fields fields(*object);
  IncomingReady ready;
  ready.name = fields.text("name");
  ready.uri = fields.text("uri");
  ready.tls = fields.boolean("tls");
  auto read = std::move(fields).finish(0);
  if (!read) {
    return std::unexpected(read.error());
  }
  if (ready.uri.empty()) {
    return std::unexpected(PeerError{"the destination answered without a uri"});
  }
  if (!acceptable_uri(ready.uri)) {
    return std::unexpected(PeerError{
        "the destination answered with a uri that is neither unix:/PATH nor tcp:HOST:PORT"});
  }
  if (expect_nbd) {
    const auto* nbd = object->if_contains("nbd");
    if (nbd == nullptr) {
      return std::unexpected(PeerError{"the destination exports no disks"});
    }
    auto address = parse_nbd(*nbd);
    if (!address) {
      return std::unexpected(address.error());
    }
    ready.nbd = std::move(*address);
  }
  return ready;
}

std::string to_body(const IncomingStatus& status) {
  json::object out;
  out["name"] = status.name;
  out["state"] = status.state;
  out["incoming"] = status.incoming;
  out["status"] = status.status;
  return json::serialize(out);
}

Parsed<IncomingStatus> parse_incoming_status(std::string_view body) {
  auto object = parse_object(body, kMaxReplyBytes, "the destination's status");
  if (!object) {
    return std::unexpected(object.error());
  }
  Fields fields(*object);
  IncomingStatus status;
  status.name = fields.text("name");
  status.state = fields.text("state");
  status.incoming = fields.boolean("incoming");
  status.status = fields.text("status");
  if (status.status.empty()) {
    fields.fail("the destination's status names no \"status\"");
  }
  return std::move(fields).finish(std::move(status));
}

std::string to_body(const CommitRequest& commit) {
  return commit.resume ? R"({"resume":true})" : R"({"resume":false})";
}

Parsed<CommitRequest> parse_commit_request(std::string_view body) {
  auto object = parse_object(body, kMaxFieldBytes, "the request body");
  if (!object) {
    return std::unexpected(object.error());
  }
  if (auto unknown = unknown_field(*object, kCommitFields)) {
    return std::unexpected(*unknown);
  }
  Fields fields(*object);
  CommitRequest commit;
  commit.resume = fields.boolean("resume", true);  // absent: resume (the source ran the guest)
  return std::move(fields).finish(commit);
}

Parsed<std::string> parse_vm_state(std::string_view body) {
  auto object = parse_object(body, kMaxReplyBytes, "the destination's VM");
  if (!object) {
    return std::unexpected(object.error());
  }
  Fields fields(*object);
  std::string state = fields.text("state");
  if (state.empty()) {
    fields.fail("the destination's VM has no \"state\"");
  }
  return std::move(fields).finish(std::move(state));
}

bool is_qmd_host_document(std::string_view body) {
  auto object = parse_object(body, kMaxReplyBytes, "GET /v1/host");
  if (!object) {
    return false;
  }
  const auto* qemu = object->if_contains("qemu");
  return object->contains("hostname") && object->contains("machine_types") && qemu != nullptr &&
         qemu->is_object() && qemu->as_object().contains("version");
}

std::string error_message(unsigned http_status, std::string_view body) {
  std::string message;
  auto object = parse_object(body, kMaxReplyBytes, "the error");
  const auto* error = object ? object->if_contains("error") : nullptr;
  const auto* text =
      error != nullptr && error->is_object() ? error->as_object().if_contains("message") : nullptr;
  if (text != nullptr && text->is_string()) {
    message = std::string(text->as_string());
  } else {
    message = fmt::format("HTTP {}: {}", http_status, body.substr(0, kMaxErrorChars));
  }
  if (message.size() > kMaxErrorChars) {
    message = message.substr(0, kMaxErrorChars) + "...";
  }
  std::ranges::replace_if(
      message, [](unsigned char c) { return c < 0x20 || c == 0x7f; }, ' ');
  return message;
}

}  // namespace qmd::daemon::migration
