#pragma once
// The real DestinationQmd: the peer protocol over RemoteQmd (a socket path, or ssh).
#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <memory>

#include "daemon/config.hpp"
#include "daemon/migration/destination_qmd.hpp"
#include "daemon/migration/remote_qmd.hpp"

namespace qmd::daemon::migration {

class RemoteDestination final : public DestinationQmd {
 public:
  // Parses `destination` and opens the session (the probe, or the ssh master); the error
  // says what is wrong with the name (bad_name) or what did not answer.
  struct OpenError {
    bool bad_name = false;
    std::string message{};
  };
  static boost::asio::awaitable<std::expected<std::shared_ptr<RemoteDestination>, OpenError>> open(
      boost::asio::any_io_executor executor, std::string destination, const Config& config);

  RemoteDestination(boost::asio::any_io_executor executor, RemoteQmd remote)
      : executor_(std::move(executor)), remote_(std::move(remote)) {}

  const std::string& where() const override { return remote_.destination(); }
  bool over_ssh() const override { return remote_.over_ssh(); }
  boost::asio::awaitable<PeerResult<IncomingReady>> prepare(IncomingRequest request) override;
  boost::asio::awaitable<PeerResult<IncomingStatus>> status(std::string name) override;
  boost::asio::awaitable<PeerResult<void>> commit(std::string name, CommitRequest commit) override;
  boost::asio::awaitable<PeerResult<void>> drop(std::string name) override;
  boost::asio::awaitable<PeerResult<std::string>> vm_state(std::string name) override;

 private:
  // One request to the destination qmd; a status other than 200 (or `also`) is a failure.
  boost::asio::awaitable<PeerResult<PeerResponse>> call(boost::beast::http::verb verb,
                                                        std::string target, std::string body,
                                                        std::chrono::milliseconds timeout,
                                                        unsigned also = 200);

  boost::asio::any_io_executor executor_;
  RemoteQmd remote_;
};

}  // namespace qmd::daemon::migration
