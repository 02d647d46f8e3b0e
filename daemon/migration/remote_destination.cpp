#include "daemon/migration/remote_destination.hpp"

#include <boost/beast/http/verb.hpp>

#include "daemon/migration/peer_http.hpp"

namespace qmd::daemon::migration {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::milliseconds kSlowCall = 30s;  // prepare and commit: QEMU starts, runs
constexpr std::chrono::milliseconds kQuickCall = 10s;

std::string incoming_path(const std::string& name) { return "/v1/migrations/incoming/" + name; }

// An answer with a status other than 200 (or `also`) as the failure it is.
PeerResult<PeerResponse> answered(std::expected<PeerResponse, std::string> reply,
                                  unsigned also = 200) {
  if (!reply) {
    return std::unexpected(
        PeerFailure{.kind = PeerFailure::Kind::unreachable, .message = std::move(reply.error())});
  }
  if (reply->status != 200 && reply->status != also) {
    return std::unexpected(PeerFailure{.kind = PeerFailure::Kind::refused,
                                       .http_status = reply->status,
                                       .message = error_message(reply->status, reply->body)});
  }
  return std::move(*reply);
}

template <typename T>
PeerResult<T> well_formed(Parsed<T> parsed) {
  if (!parsed) {
    return std::unexpected(PeerFailure{.kind = PeerFailure::Kind::malformed,
                                       .message = std::move(parsed.error().message)});
  }
  return std::move(*parsed);
}

}  // namespace

asio::awaitable<std::expected<std::shared_ptr<RemoteDestination>, RemoteDestination::OpenError>>
RemoteDestination::open(asio::any_io_executor executor, std::string destination,
                        const Config& config) {
  auto parsed = RemoteQmd::parse(destination, config);
  if (!parsed) {
    co_return std::unexpected(OpenError{.bad_name = true, .message = parsed.error()});
  }
  auto made = std::make_shared<RemoteDestination>(executor, std::move(*parsed));
  // Over ssh one connection carries every call of this migration (ControlMaster): a call
  // made while the guest stands still for the switchover costs no new handshake.
  auto opened = co_await made->remote_.open_session(executor);
  if (!opened) {
    co_return std::unexpected(OpenError{.bad_name = false, .message = opened.error()});
  }
  co_return made;
}

asio::awaitable<PeerResult<PeerResponse>> RemoteDestination::call(
    http::verb verb, std::string target, std::string body, std::chrono::milliseconds timeout,
    unsigned also) {
  auto reply = co_await remote_.request(executor_, verb, std::move(target), std::move(body),
                                        timeout);
  co_return answered(std::move(reply), also);
}

asio::awaitable<PeerResult<IncomingReady>> RemoteDestination::prepare(IncomingRequest request) {
  const bool expect_nbd = !request.disks.empty();
  std::string target = "/v1/migrations/incoming";
  std::string body = to_body(request);
  auto ok = co_await call(http::verb::post, std::move(target), std::move(body), kSlowCall, 201);
  if (!ok) {
    co_return std::unexpected(ok.error());
  }
  co_return well_formed(parse_incoming_ready(ok->body, expect_nbd));
}

asio::awaitable<PeerResult<IncomingStatus>> RemoteDestination::status(std::string name) {
  std::string target = incoming_path(name);
  std::string body;
  auto ok = co_await call(http::verb::get, std::move(target), std::move(body), kQuickCall);
  if (!ok) {
    co_return std::unexpected(ok.error());
  }
  co_return well_formed(parse_incoming_status(ok->body));
}

asio::awaitable<PeerResult<void>> RemoteDestination::commit(std::string name,
                                                            CommitRequest commit) {
  std::string target = incoming_path(name) + "/commit";
  std::string body = to_body(commit);
  auto ok = co_await call(http::verb::post, std::move(target), std::move(body), kSlowCall);
  if (!ok) {
    co_return std::unexpected(ok.error());
  }
  co_return PeerResult<void>{};
}

asio::awaitable<PeerResult<void>> RemoteDestination::drop(std::string name) {
  std::string target = incoming_path(name);
  std::string body;
  auto ok = co_await call(http::verb::delete_, std::move(target), std::move(body), kQuickCall,
                          204);
  if (!ok) {
    co_return std::unexpected(ok.error());
  }
  co_return PeerResult<void>{};
}

asio::awaitable<PeerResult<std::string>> RemoteDestination::vm_state(std::string name) {
  std::string target = "/v1/vms/" + name;
  std::string body;
  auto ok = co_await call(http::verb::get, std::move(target), std::move(body), kQuickCall);
  if (!ok) {
    co_return std::unexpected(ok.error());
  }
  co_return well_formed(parse_vm_state(ok->body));
}

}  // namespace qmd::daemon::migration
