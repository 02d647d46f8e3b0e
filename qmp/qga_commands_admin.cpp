// The guest commands that change state: fsfreeze, user passwords, the clock.
#include <utility>

#include "qmp/qga_commands.hpp"
#include "qmp/qga_commands_reader.hpp"

namespace qmd::qmp {
namespace {

namespace json = boost::json;
using detail::unexpected_reply;

// The commands that answer a bare count of file systems.
asio::awaitable<QgaTyped<std::int64_t>> count_reply(QgaClient& client, const char* name,
                                                    std::chrono::milliseconds timeout) {
  auto reply = co_await client.execute(name, {}, timeout);
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  if (!reply->is_int64()) {
    co_return std::unexpected(unexpected_reply(name, *reply));
  }
  co_return reply->get_int64();
}

// The commands that answer {} on success.
asio::awaitable<QgaDone> empty_reply(QgaClient& client, const char* name, json::object arguments) {
  auto reply = co_await client.execute(name, std::move(arguments));
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  if (!reply->is_object()) {
    co_return std::unexpected(unexpected_reply(name, *reply));
  }
  co_return QgaDone{};
}

}  // namespace

asio::awaitable<QgaTyped<std::int64_t>> guest_fsfreeze_freeze(QgaClient& client,
                                                              std::chrono::milliseconds timeout) {
  co_return co_await count_reply(client, "guest-fsfreeze-freeze", timeout);
}

asio::awaitable<QgaTyped<std::int64_t>> guest_fsfreeze_thaw(QgaClient& client,
                                                            std::chrono::milliseconds timeout) {
  co_return co_await count_reply(client, "guest-fsfreeze-thaw", timeout);
}

asio::awaitable<QgaTyped<FsFreezeStatus>> guest_fsfreeze_status(QgaClient& client) {
  auto reply = co_await client.execute("guest-fsfreeze-status");
  if (!reply) {
    co_return std::unexpected(reply.error());
  }
  if (*reply == "thawed") {
    co_return FsFreezeStatus::thawed;
  }
  if (*reply == "frozen") {
    co_return FsFreezeStatus::frozen;
  }
  co_return std::unexpected(unexpected_reply("guest-fsfreeze-status", *reply));
}

asio::awaitable<QgaDone> guest_set_user_password(QgaClient& client, std::string user,
                                                 std::string password, bool crypted) {
  json::object arguments{
      {"username", user}, {"password", encode_base64(password)}, {"crypted", crypted}};
  co_return co_await empty_reply(client, "guest-set-user-password", std::move(arguments));
}

asio::awaitable<QgaDone> guest_ssh_add_authorized_keys(QgaClient& client, std::string user,
                                                       std::vector<std::string> keys,
                                                       bool reset) {
  json::array list;
  for (auto& key : keys) {
    list.emplace_back(std::move(key));
  }
  json::object arguments{{"username", user}, {"keys", std::move(list)}, {"reset", reset}};
  co_return co_await empty_reply(client, "guest-ssh-add-authorized-keys", std::move(arguments));
}

asio::awaitable<QgaDone> guest_set_time(QgaClient& client,
                                        std::optional<std::int64_t> nanoseconds) {
  json::object arguments;
  if (nanoseconds) {
    arguments["time"] = *nanoseconds;
  }
  co_return co_await empty_reply(client, "guest-set-time", std::move(arguments));
}

}  // namespace qmd::qmp
