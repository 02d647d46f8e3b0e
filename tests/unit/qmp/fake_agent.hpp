#pragma once
// The guest agent's side of a socketpair, driven step by step by a test on the same io_context.
#include <doctest/doctest.h>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <istream>
#include <string>

#include "qmp/qga_client.hpp"
#include "tests/unit/qmp/io_drive.hpp"

namespace qmd::qmp::testing {

// The agent's side of a socketpair. Requests may start with the client's 0xFF parser reset.
class FakeAgent {
 public:
  explicit FakeAgent(asio::io_context& ioc) : ioc_(ioc), socket_(ioc) {}
  QgaClient client(QgaOptions options = {}) {
    asio::local::stream_protocol::socket other(ioc_);
    asio::local::connect_pair(socket_, other);
    return QgaClient::adopt(std::move(other), "fake-qga", options);
  }
  // Takes the next connection on `acceptor` (a client with a path connects on its first
  // command, and again after its channel closed), dropping the previous one.
  void accept(asio::local::stream_protocol::acceptor& acceptor) {
    socket_ = asio::local::stream_protocol::socket(ioc_);
    buffer_.consume(buffer_.size());
    bool done = false;
    acceptor.async_accept(socket_, [&](boost::system::error_code ec) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
  }
  void send(const std::string& bytes) {
    bool done = false;
    asio::async_write(socket_, asio::buffer(bytes), [&](boost::system::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
  }
  boost::json::object request() {
    bool done = false;
    asio::async_read_until(socket_, buffer_, '\n', [&](boost::system::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
    std::istream in(&buffer_);
    std::string line;
    std::getline(in, line);
    if (!line.empty() && line.front() == '\xff') {
      line.erase(0, 1);
    }
    return boost::json::parse(line).as_object();
  }
  // Reads a sync request and returns its id.
  std::int64_t sync_request() {
    const auto r = request();
    REQUIRE(r.at("execute") == "guest-sync-delimited");
    return r.at("arguments").at("id").as_int64();
  }
  // Writes `bytes` while the client runs; false when the client closed its end first.
  bool try_send(const std::string& bytes) {
    bool done = false;
    boost::system::error_code result;
    asio::async_write(socket_, asio::buffer(bytes), [&](boost::system::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
    return !result;
  }
  void sync_reply(std::int64_t id) { send("\xff{\"return\": " + std::to_string(id) + "}\n"); }
  std::size_t unread() { return socket_.available() + buffer_.size(); }

 private:
  asio::io_context& ioc_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf buffer_;
};

}  // namespace qmd::qmp::testing
