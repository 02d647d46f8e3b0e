#pragma once
// The QEMU side of a socketpair, driven step by step by a test on the same io_context.
#include <doctest/doctest.h>

#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <istream>
#include <string>

#include "tests/unit/qmp/io_drive.hpp"

namespace qmd::qmp::testing {

inline constexpr const char* greeting_line =
    R"({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, )"
    R"("package": "Debian 1:7.2+dfsg-7"}, "capabilities": ["oob"]}})"
    "\r\n";

class FakePeer {
 public:
  explicit FakePeer(asio::io_context& ioc) : ioc_(ioc), socket_(ioc) {}

  // The client's end, connected to this peer.
  asio::local::stream_protocol::socket client_end() {
    asio::local::stream_protocol::socket other(ioc_);
    asio::local::connect_pair(socket_, other);
    return other;
  }

  void send(const std::string& bytes) {
    bool done = false;
    asio::async_write(socket_, asio::buffer(bytes), [&](boost::system::error_code ec, std::size_t) {
      CHECK_FALSE(ec);
      done = true;
    });
    REQUIRE(run_until(ioc_, [&] { return done; }));
  }

  // The next request the client wrote, as an object.
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
    return boost::json::parse(line).as_object();
  }

  void close() { socket_.close(); }

 private:
  asio::io_context& ioc_;
  asio::local::stream_protocol::socket socket_;
  asio::streambuf buffer_;
};

}  // namespace qmd::qmp::testing
