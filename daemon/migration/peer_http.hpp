#pragma once
// The peer protocol's transport: one HTTP/1.1 exchange with another qmd over its Unix socket
// (or a socket already connected to one through ssh), with a deadline on the whole exchange
// and caps on the reply. Transport failures come back as words that name the socket; an HTTP
// error status is a response like any other.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <expected>
#include <string>

namespace qmd::daemon::migration {

struct PeerResponse {
  unsigned status = 0;
  std::string body;
};

boost::asio::awaitable<std::expected<PeerResponse, std::string>> peer_request(
    boost::asio::any_io_executor executor, std::string socket_path,
    boost::beast::http::verb method, std::string target, std::string body,
    std::chrono::milliseconds limit);

// The same exchange over a socket already connected to a qmd (one end of a socketpair whose
// other end is an `ssh HOST qmctl stdio-proxy`); `peer` names it in errors.
boost::asio::awaitable<std::expected<PeerResponse, std::string>> peer_exchange(
    boost::asio::local::stream_protocol::socket socket, std::string peer,
    boost::beast::http::verb method, std::string target, std::string body,
    std::chrono::milliseconds limit);

// Before anything is sent to a local destination: the socket and the process listening on
// it are root's or this qmd's user's, and GET /v1/host (the only request sent; its reply
// read within `limit` and at most 256 KiB) answers with qmd's host document. The error says
// what did not match.
boost::asio::awaitable<std::expected<void, std::string>> probe_local_qmd(
    boost::asio::any_io_executor executor, std::string socket_path,
    std::chrono::milliseconds limit);

// Whether a GET /v1/host reply from `peer` is qmd's host document; the error says so.
std::expected<void, std::string> check_qmd_host_reply(const PeerResponse& response,
                                                      const std::string& peer);

}  // namespace qmd::daemon::migration
