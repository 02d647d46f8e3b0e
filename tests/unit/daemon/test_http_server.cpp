// The HTTP server on a real Unix socket, driven by a plain blocking client: routing, limits,
// timeouts, keep-alive, streams and upgrades, bind rules, and who may connect.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "base/unique_fd.hpp"
#include "daemon/api/http_server.hpp"
#include "daemon/api/router.hpp"
#include "daemon/api/url.hpp"

namespace api = qmd::daemon::api;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using qmd::UniqueFd;

namespace {

// A short directory under /tmp: socket paths must fit in 108 bytes.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/qmd-api-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      throw std::runtime_error("mkdtemp failed");
    }
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  return addr;
}

// -1 when nobody listens.
int connect_to(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto addr = address_of(path);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void send_text(const UniqueFd& fd, const std::string& text) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    const auto n = send(fd.get(), text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      return;  // the server may close early (413): what it answered is still readable
    }
    sent += static_cast<std::size_t>(n);
  }
}

// One chunk, or "" on EOF; throws when nothing comes within `timeout`.
std::string read_some(const UniqueFd& fd, std::chrono::milliseconds timeout = 5s) {
  pollfd p{fd.get(), POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
    throw std::runtime_error("no answer within the timeout");
  }
  char buf[4096];
  const auto n = recv(fd.get(), buf, sizeof buf, 0);
  return n <= 0 ? std::string{} : std::string(buf, static_cast<std::size_t>(n));
}

std::string read_to_eof(const UniqueFd& fd) {
  std::string all;
  for (auto chunk = read_some(fd); !chunk.empty(); chunk = read_some(fd)) {
    all += chunk;
  }
  return all;
}

struct Reply {
  unsigned status = 0;
  std::string head;  // status line + headers
  std::string body;
};

// Exactly one response with a Content-Length (keep-alive safe).
Reply read_reply(const UniqueFd& fd) {
  std::string data;
  std::size_t end = std::string::npos;
  while ((end = data.find("\r\n\r\n")) == std::string::npos) {
    const auto chunk = read_some(fd);
    if (chunk.empty()) {
      throw std::runtime_error("EOF inside headers: " + data);
    }
    data += chunk;
  }
  Reply reply;
  reply.head = data.substr(0, end + 2);
  reply.status = static_cast<unsigned>(std::stoul(reply.head.substr(9, 3)));
  const auto cl = reply.head.find("Content-Length: ");
  const std::size_t length = cl == std::string::npos ? 0 : std::stoul(reply.head.substr(cl + 16));
  reply.body = data.substr(end + 4);
  while (reply.body.size() < length) {
    const auto chunk = read_some(fd);
    if (chunk.empty()) {
      break;
    }
    reply.body += chunk;
  }
  return reply;
}

std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: qmd\r\n" + extra + "\r\n";
}

Reply round_trip(const std::string& path, const std::string& request) {
  UniqueFd fd(connect_to(path));
  REQUIRE(fd.get() >= 0);
  send_text(fd, request);
  return read_reply(fd);
}

asio::awaitable<void> write_text(asio::local::stream_protocol::socket& socket, std::string text) {
  co_await asio::async_write(socket, asio::buffer(text), asio::use_awaitable);
}

api::Router test_routes() {
  api::Router router;
  router.add(api::http::verb::get, "/v1/vms/{name}",
             [](api::Request r) -> asio::awaitable<api::Response> {
               co_return api::json_response("{\"name\":\"" + r.param("name") + "\"}");
             });
  router.add(api::http::verb::post, "/v1/vms/{name}/{action}",
             [](api::Request r) -> asio::awaitable<api::Response> {
               co_return api::json_response(r.param("name") + " " + r.param("action") + " " +
                                                r.query_value("grace").value_or("-") + " " +
                                                r.content_type + " " + r.body,
                                            201);
             });
  router.add(api::http::verb::get, "/boom", [](api::Request) -> asio::awaitable<api::Response> {
    throw std::runtime_error("handler blew up");
    co_return api::Response{};
  });
  router.add(api::http::verb::get, "/stream", [](api::Request) -> asio::awaitable<api::Response> {
    api::Response r;
    r.content_type = "application/x-ndjson";
    r.stream = [](asio::local::stream_protocol::socket& socket) -> asio::awaitable<void> {
      co_await write_text(socket, "one\n");
      co_await write_text(socket, "two\n");
    };
    co_return r;
  });
  router.add(api::http::verb::get, "/forever", [](api::Request) -> asio::awaitable<api::Response> {
    api::Response r;
    r.stream = [](asio::local::stream_protocol::socket& socket) -> asio::awaitable<void> {
      co_await write_text(socket, "first\n");
      asio::steady_timer never(socket.get_executor(), std::chrono::hours(1));
      co_await never.async_wait(asio::use_awaitable);  // like events --follow with no events
    };
    co_return r;
  });
  router.add(api::http::verb::get, "/echo", [](api::Request req) -> asio::awaitable<api::Response> {
    api::Response r;
    r.status = 101;
    r.headers["Upgrade"] = "qmd-console";
    const bool upgrade = req.wants_upgrade;
    r.stream = [upgrade](asio::local::stream_protocol::socket& socket) -> asio::awaitable<void> {
      char buf[5];
      co_await asio::async_read(socket, asio::buffer(buf), asio::use_awaitable);
      co_await write_text(socket, std::string(upgrade ? "up:" : "no:") + std::string(buf, 5));
    };
    co_return r;
  });
  return router;
}

// A server on a background io_context thread.
class Served {
 public:
  explicit Served(api::ServerOptions options) : router_(test_routes()) {
    auto bound =
        api::HttpServer::bind(io_.get_executor(), std::move(options),
                              [this](api::Request r) { return router_.dispatch(std::move(r)); });
    REQUIRE_MESSAGE(bound.has_value(), (bound ? "" : bound.error()));
    server_ = std::move(*bound);
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~Served() {
    server_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
  }
  api::HttpServer& server() { return *server_; }
  void destroy_server() { server_.reset(); }  // the io thread keeps running

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{io_.get_executor()};
  api::Router router_;
  std::unique_ptr<api::HttpServer> server_;
  std::thread thread_;
};

api::ServerOptions options_for(const std::string& path) {
  api::ServerOptions options;
  options.socket_path = path;
  options.max_header_bytes = 1024;
  options.body_limits.other = 1024;
  options.read_timeout = 300ms;
  options.idle_timeout = 2000ms;
  return options;
}

}  // namespace

TEST_CASE("routes GET and POST with path params, query and body") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  auto reply = round_trip(dir / "qmd.sock", get("/v1/vms/web%311"));
  CHECK(reply.status == 200);
  CHECK(reply.body == R"({"name":"web11"})");
  CHECK(reply.head.find("Content-Type: application/json") != std::string::npos);

  reply = round_trip(dir / "qmd.sock",
                     "POST /v1/vms/web1/stop?grace=30&x HTTP/1.1\r\nHost: qmd\r\n"
                     "Content-Type: application/yaml\r\nContent-Length: 5\r\n\r\nhello");
  CHECK(reply.status == 201);
  CHECK(reply.body == "web1 stop 30 application/yaml hello");
}

TEST_CASE("unknown path is 404, wrong method is 405 with Allow, handler exception is 500") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  auto reply = round_trip(dir / "qmd.sock", get("/v2/nothing"));
  CHECK(reply.status == 404);
  CHECK(reply.body.find(R"({"error":{"code":"NotFound","message":)") == 0);

  reply = round_trip(dir / "qmd.sock", "DELETE /v1/vms/web1 HTTP/1.1\r\nHost: qmd\r\n\r\n");
  CHECK(reply.status == 405);
  CHECK(reply.head.find("Allow: GET\r\n") != std::string::npos);

  reply = round_trip(dir / "qmd.sock", get("/boom"));
  CHECK(reply.status == 500);
  CHECK(reply.body == R"({"error":{"code":"Internal","message":"handler blew up"}})");
}

TEST_CASE("a body over the limit is 413 and the next connection is served") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  const std::string body(5000, 'x');
  auto reply = round_trip(
      dir / "qmd.sock",
      "POST /v1/vms/a/start HTTP/1.1\r\nHost: qmd\r\nContent-Length: 5000\r\n\r\n" + body);
  CHECK(reply.status == 413);
  CHECK(reply.body.find("\"TooLarge\"") != std::string::npos);
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/next")).status == 200);
}

TEST_CASE("headers over the limit are 431") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  auto reply =
      round_trip(dir / "qmd.sock", get("/v1/vms/a", "X-Big: " + std::string(4000, 'y') + "\r\n"));
  CHECK(reply.status == 431);
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/next")).status == 200);
}

TEST_CASE("a chunk header that never ends is 431 once the read buffer is full, not more heap") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  // 1 KiB of header limit + 128 KiB: a chunk extension longer than that fills the buffer.
  auto reply = round_trip(dir / "qmd.sock",
                          "POST /v1/vms/a/start HTTP/1.1\r\nHost: qmd\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n1;" +
                              std::string(140 * 1024, 'a'));
  CHECK(reply.status == 431);
  CHECK(reply.body.find("chunk header or trailer exceeds the read buffer of 132096 bytes") !=
        std::string::npos);
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/next")).status == 200);
}

TEST_CASE("a client that stalls mid-request is cut off after read_timeout; others are served") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  UniqueFd staller(connect_to(dir / "qmd.sock"));
  send_text(staller, "GET /v1/vms/a HTTP/1.1\r\nHost: qm");
  // While it stalls, someone else is answered.
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/b")).status == 200);
  const auto started = std::chrono::steady_clock::now();
  const auto answer = read_to_eof(staller);  // closed, not left hanging
  CHECK(std::chrono::steady_clock::now() - started < 4s);
  CHECK(answer.find("HTTP/1.1 408") == 0);
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/c")).status == 200);
}

TEST_CASE("keep-alive: two requests on one connection, then idle close") {
  TempDir dir;
  auto options = options_for(dir / "qmd.sock");
  options.idle_timeout = 200ms;
  Served served(options);
  UniqueFd fd(connect_to(dir / "qmd.sock"));
  send_text(fd, get("/v1/vms/one"));
  CHECK(read_reply(fd).body == R"({"name":"one"})");
  send_text(fd, get("/v1/vms/two"));
  CHECK(read_reply(fd).body == R"({"name":"two"})");
  CHECK(read_to_eof(fd).empty());  // idle_timeout: closed without a word
}

TEST_CASE("a stream response sends headers, its bytes, then closes") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  UniqueFd fd(connect_to(dir / "qmd.sock"));
  send_text(fd, get("/stream"));
  const auto all = read_to_eof(fd);
  const auto end = all.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  const auto head = all.substr(0, end);
  CHECK(head.find("HTTP/1.1 200 OK") == 0);
  CHECK(head.find("Connection: close") != std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.find("Content-Type: application/x-ndjson") != std::string::npos);
  CHECK(all.substr(end + 4) == "one\ntwo\n");
}

TEST_CASE("destroying the server ends a stream that waits for something else than the socket") {
  TempDir dir;
  auto served = std::make_unique<Served>(options_for(dir / "qmd.sock"));
  UniqueFd fd(connect_to(dir / "qmd.sock"));
  send_text(fd, get("/forever"));
  std::string data;
  while (data.find("first\n") == std::string::npos) {
    data += read_some(fd);
  }
  CHECK(served->server().connection_count() == 1);
  served->destroy_server();
  read_to_eof(fd);  // closed by the server, long before the hour is up
}

TEST_CASE("a 101 upgrade hands the raw socket to the stream both ways") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  UniqueFd fd(connect_to(dir / "qmd.sock"));
  send_text(fd, get("/echo", "Connection: Upgrade\r\nUpgrade: qmd-console\r\n"));
  std::string data;
  while (data.find("\r\n\r\n") == std::string::npos) {
    data += read_some(fd);
  }
  CHECK(data.find("HTTP/1.1 101 Switching Protocols") == 0);
  CHECK(data.find("Connection: Upgrade") != std::string::npos);
  CHECK(data.find("Upgrade: qmd-console") != std::string::npos);
  send_text(fd, "hello");
  data = data.substr(data.find("\r\n\r\n") + 4) + read_to_eof(fd);
  CHECK(data == "up:hello");
}

TEST_CASE("bind: a live socket is refused, a stale one replaced, the file removed at the end") {
  TempDir dir;
  const auto path = dir / "qmd.sock";
  {
    // A stale socket file: bound, never unlinked, nobody listening.
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    const auto addr = address_of(path);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    close(fd);
    REQUIRE(std::filesystem::exists(path));
  }
  {
    Served served(options_for(path));
    CHECK(round_trip(path, get("/v1/vms/x")).status == 200);
    struct stat st {};
    REQUIRE(stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    asio::io_context other;
    auto second = api::HttpServer::bind(
        other.get_executor(), options_for(path),
        [](api::Request) -> asio::awaitable<api::Response> { co_return api::Response{}; });
    REQUIRE_FALSE(second.has_value());
    CHECK(second.error() == "another qmd is listening on " + path);
    // The probe's connection (and ours) close on their own; the count drops back to zero.
    for (int i = 0; i < 200 && served.server().connection_count() != 0; ++i) {
      std::this_thread::sleep_for(10ms);
    }
    CHECK(served.server().connection_count() == 0);
  }
  CHECK_FALSE(std::filesystem::exists(path));
}

TEST_CASE("bind refuses to replace a file that is not a socket") {
  TempDir dir;
  const auto path = dir / "qmd.sock";
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    std::fclose(f);
  }
  asio::io_context io;
  auto bound = api::HttpServer::bind(
      io.get_executor(), options_for(path),
      [](api::Request) -> asio::awaitable<api::Response> { co_return api::Response{}; });
  REQUIRE_FALSE(bound.has_value());
  CHECK(bound.error().find("is not a socket") != std::string::npos);
}

TEST_CASE("stop: no new connections; the server still exists") {
  TempDir dir;
  Served served(options_for(dir / "qmd.sock"));
  CHECK(round_trip(dir / "qmd.sock", get("/v1/vms/x")).status == 200);
  served.server().stop();
  for (int i = 0; i < 100 && connect_to(dir / "qmd.sock") >= 0; ++i) {
    std::this_thread::sleep_for(10ms);  // the close is posted to the acceptor's strand
  }
  const int fd = connect_to(dir / "qmd.sock");
  CHECK(fd < 0);
  if (fd >= 0) {
    close(fd);
  }
}

TEST_CASE("peer_allowed: root, qmd's uid, and members of the group") {
  const uid_t qmd_uid = 1000;
  const std::vector<gid_t> none;
  const std::vector<gid_t> groups{27, 998};
  CHECK(api::peer_allowed({1, 0, 0}, std::nullopt, qmd_uid, none));        // root
  CHECK(api::peer_allowed({1, 1000, 1000}, std::nullopt, qmd_uid, none));  // same uid
  CHECK_FALSE(api::peer_allowed({1, 1001, 1001}, std::nullopt, qmd_uid, groups));
  CHECK_FALSE(api::peer_allowed({1, 1001, 1001}, gid_t{999}, qmd_uid, groups));
  CHECK(api::peer_allowed({1, 1001, 1001}, gid_t{998}, qmd_uid, groups));  // supplementary
  CHECK(api::peer_allowed({1, 1001, 998}, gid_t{998}, qmd_uid, none));     // primary
  // Through /proc: this very process.
  CHECK(api::peer_allowed({getpid(), geteuid(), getegid()}, std::nullopt));
}

TEST_CASE("groups_from_status reads the Groups line of /proc/PID/status") {
  CHECK(api::groups_from_status("Name:\tbash\nGid:\t1000\t1000\t1000\t1000\n"
                                "Groups:\t4 24 27 998 \nNStgid:\t1\n") ==
        std::vector<gid_t>{4, 24, 27, 998});
  CHECK(api::groups_from_status("Name:\tx\nGroups:\t\n").empty());
  CHECK(api::groups_from_status("").empty());
}

TEST_CASE("request targets: percent-decoding and the query string") {
  CHECK(api::percent_decode("a%20b%2Fc") == "a b/c");
  CHECK(api::percent_decode("a+b") == "a+b");
  CHECK(api::percent_decode("a+b", true) == "a b");
  CHECK_FALSE(api::percent_decode("bad%2").has_value());
  CHECK_FALSE(api::percent_decode("bad%zz").has_value());
  CHECK_FALSE(api::percent_decode("nul%00").has_value());
  auto t = api::parse_target("/v1/events?vm=web%201&follow=true&flag&");
  REQUIRE(t.has_value());
  CHECK(t->path == "/v1/events");
  CHECK(t->query ==
        std::map<std::string, std::string>{{"vm", "web 1"}, {"follow", "true"}, {"flag", ""}});
  CHECK_FALSE(api::parse_target("v1/no-slash").has_value());
}

TEST_CASE("connection cap: over the total a connection is 503 and closed; a freed slot serves") {
  TempDir dir;
  auto options = options_for(dir / "qmd.sock");
  options.caps = api::ConnectionCaps{.max_total = 1, .max_per_user = 1};
  Served served(options);
  std::optional<UniqueFd> first(std::in_place, connect_to(dir / "qmd.sock"));
  send_text(*first, get("/v1/vms/one"));
  CHECK(read_reply(*first).status == 200);  // kept alive: it holds the one slot
  {
    UniqueFd second(connect_to(dir / "qmd.sock"));
    send_text(second, get("/v1/vms/two"));
    const auto reply = read_reply(second);
    CHECK(reply.status == 503);
    CHECK(reply.body.find("(api.maxConnections)") != std::string::npos);
    CHECK(read_to_eof(second).empty());
  }
  first.reset();
  // The slot is free once the server has seen the close: retry until it has.
  int status = 0;
  for (int i = 0; i < 50 && status != 200; ++i) {
    status = round_trip(dir / "qmd.sock", get("/v1/vms/three")).status;
    if (status != 200) {
      std::this_thread::sleep_for(20ms);
    }
  }
  CHECK(status == 200);
}

TEST_CASE("body limit by route: a spec may be larger than other bodies; the 413 names it") {
  TempDir dir;
  auto options = options_for(dir / "qmd.sock");
  options.body_limits = api::BodyLimits{.other = 1024, .spec = 4096, .migration = 8192};
  Served served(options);
  const std::string body(2000, 'x');
  auto reply = round_trip(
      dir / "qmd.sock",
      "POST /v1/vms/a/start HTTP/1.1\r\nHost: qmd\r\nContent-Length: 2000\r\n\r\n" + body);
  CHECK(reply.status == 413);
  CHECK(reply.body.find("larger than 1 KiB (1024 bytes), the most this request may carry") !=
        std::string::npos);
  reply = round_trip(dir / "qmd.sock",
                     "PUT /v1/vms/a HTTP/1.1\r\nHost: qmd\r\nContent-Length: 5000\r\n\r\n" +
                         std::string(5000, 'y'));
  CHECK(reply.status == 413);
  CHECK(reply.body.find("the most a VM spec may be") != std::string::npos);
}
