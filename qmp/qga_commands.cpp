#include "qmp/qga_commands.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "qmp/guest_text.hpp"
#include "qmp/json_fields.hpp"
#include "qmp/qga_commands_reader.hpp"

namespace qmd::qmp {
namespace {

namespace json = boost::json;

using detail::unexpected_reply;

// Exactly as sent (base64 data, checked by its decoder).
std::string text(const json::object& o, std::string_view key) {
  const auto* s = string_at(o, key);
  return s != nullptr ? std::string(*s) : std::string();
}

// Guest text for people: sanitised and bounded (guest_text.hpp).
std::string guest_text(const json::object& o, std::string_view key,
                       std::size_t max_chars = guest_text_max_chars) {
  const auto* s = string_at(o, key);
  return s != nullptr ? sanitize_guest_text(*s, max_chars) : std::string();
}

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
  if (c == '/') {
    return 63;
  }
  return -1;
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
  }
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int count = 0;
  for (const char c : text) {
    const int v = base64_value(c);
    if (v < 0) {
      return std::nullopt;
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out.push_back(static_cast<char>((bits >> count) & 0xFFu));
    }
  }
  return out;
}

std::string encode_base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
    std::uint32_t bits = 0;
    for (std::size_t k = 0; k < 3; ++k) {
      bits = (bits << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    }
    for (std::size_t k = 0; k < 4; ++k) {
      out.push_back(k <= n ? alphabet[(bits >> (18 - 6 * k)) & 0x3Fu] : '=');
    }
  }
  return out;
}

asio::awaitable<QgaDone> guest_ping(QgaClient& client, std::chrono::milliseconds timeout) {
  auto reply = co_await client.execute("guest-ping", {}, timeout);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  co_return QgaDone{};
}

asio::awaitable<QgaTyped<GuestInfo>> guest_info(QgaClient& client) {
  auto reply = co_await client.execute("guest-info");
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  const auto* o = reply->if_object();
  if (o == nullptr) {
    co_return std::unexpected(unexpected_reply("guest-info", *reply));
  }
  GuestInfo info;
  info.version = guest_text(*o, "version", agent_version_max_chars);
  const auto* cmds = o->if_contains("supported_commands");
  if (cmds != nullptr && cmds->is_array()) {
    for (const auto& c : cmds->as_array()) {
      if (c.is_object() && bool_at(c.as_object(), "enabled")) {
        info.enabled_commands.push_back(guest_text(c.as_object(), "name"));
      }
    }
  }
  co_return info;
}

asio::awaitable<QgaTyped<GuestOsInfo>> guest_get_osinfo(QgaClient& client) {
  auto reply = co_await client.execute("guest-get-osinfo");
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  const auto* o = reply->if_object();
  if (o == nullptr) {
    co_return std::unexpected(unexpected_reply("guest-get-osinfo", *reply));
  }
  co_return GuestOsInfo{guest_text(*o, "kernel-release"), guest_text(*o, "kernel-version"),
                        guest_text(*o, "machine"),        guest_text(*o, "id"),
                        guest_text(*o, "name"),           guest_text(*o, "pretty-name"),
                        guest_text(*o, "version"),        guest_text(*o, "version-id")};
}

namespace {

// One command within `timeout` when given, else the client's default.
asio::awaitable<QgaResult> execute_within(QgaClient& client, std::string name,
                                          json::object arguments,
                                          std::optional<std::chrono::milliseconds> timeout) {
  if (timeout) {
    co_return co_await client.execute(std::move(name), std::move(arguments), *timeout);
  }
  co_return co_await client.execute(std::move(name), std::move(arguments));
}

}  // namespace

asio::awaitable<QgaTyped<std::int64_t>> guest_exec_start(
    QgaClient& client, std::string path, std::vector<std::string> args,
    std::optional<std::chrono::milliseconds> timeout) {
  json::array arg;
  for (auto& a : args) {
    arg.emplace_back(a);
  }
  json::object arguments{{"path", path}, {"capture-output", true}};
  if (!arg.empty()) {
    arguments["arg"] = std::move(arg);
  }
  auto reply = co_await execute_within(client, "guest-exec", std::move(arguments), timeout);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  const auto pid = reply->is_object() ? int_at(reply->as_object(), "pid") : std::nullopt;
  if (!pid) {
    co_return std::unexpected(unexpected_reply("guest-exec", *reply));
  }
  co_return *pid;
}

asio::awaitable<QgaTyped<std::optional<GuestExecResult>>> guest_exec_status(
    QgaClient& client, std::int64_t pid, std::optional<std::chrono::milliseconds> timeout) {
  // Named first: g++ 12 rejects a braced json::object built inside a co_await expression.
  json::object arguments{{"pid", pid}};
  auto reply = co_await execute_within(client, "guest-exec-status", std::move(arguments), timeout);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  const auto* o = reply->if_object();
  if (o == nullptr) {
    co_return std::unexpected(unexpected_reply("guest-exec-status", *reply));
  }
  if (!bool_at(*o, "exited")) {
    co_return std::optional<GuestExecResult>{};
  }
  GuestExecResult result;
  result.exit_code = int_at(*o, "exitcode").value_or(0);
  result.signal = int_at(*o, "signal");
  const auto out = decode_base64(text(*o, "out-data"));
  const auto err = decode_base64(text(*o, "err-data"));
  if (!out || !err) {
    co_return std::unexpected(unexpected_reply("guest-exec-status", *reply));
  }
  result.out = *out;
  result.err = *err;
  result.truncated = bool_at(*o, "out-truncated") || bool_at(*o, "err-truncated");
  co_return result;
}

asio::awaitable<QgaTyped<GuestExecResult>> guest_exec(QgaClient& client, std::string path,
                                                      std::vector<std::string> args,
                                                      std::chrono::milliseconds limit) {
  // Every step within what is left of `limit`: an agent that stops answering fails the whole
  // run on time (a probe's timeoutSeconds), not after the client's default.
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const auto left = [deadline] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds{1});
  };
  auto pid = co_await guest_exec_start(client, path, std::move(args), limit);
  if (!pid) {
    co_return std::unexpected(pid.error());
  }
  asio::steady_timer pause(co_await asio::this_coro::executor);
  auto wait = 20ms;
  for (;;) {
    const std::chrono::milliseconds step = left();
    auto status = co_await guest_exec_status(client, *pid, step);
    if (!status) {
      co_return std::unexpected(status.error());
    }
    if (*status) {
      co_return std::move(**status);
    }
    if (std::chrono::steady_clock::now() + wait > deadline) {
      co_return std::unexpected(QmpError{
          QmpError::Kind::timeout, "",
          fmt::format("{} (guest pid {}) did not finish within {} ms", path, *pid, limit.count())});
    }
    pause.expires_after(wait);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    wait = std::min<std::chrono::milliseconds>(wait * 2, 200ms);
  }
}

asio::awaitable<QgaDone> guest_shutdown(QgaClient& client, std::string mode) {
  json::object arguments{{"mode", mode}};
  co_return co_await client.execute_no_reply("guest-shutdown", std::move(arguments));
}

}  // namespace qmd::qmp
