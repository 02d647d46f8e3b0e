#pragma once
// qmctl's side of the API: blocking HTTP/1.1 over qmd's Unix socket (Boost.Beast), with a
// deadline on every step. Three shapes: a whole response, a stream read until EOF (events,
// logs), and an upgrade that hands back the raw socket (console).
#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <string_view>
#include <variant>

namespace qmd::qmctl {

struct ApiResponse {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

struct ApiTimeouts {
  std::chrono::milliseconds connect{5000};
  // The whole exchange; long because stop waits for the guest to shut down.
  std::chrono::milliseconds request{10 * 60 * 1000};
};

// After a 101: the connected socket, and the bytes that came right behind the headers.
struct Upgraded {
  int fd = -1;  // the caller owns it
  std::string early_bytes;
};

class ApiClient {
 public:
  explicit ApiClient(std::string socket_path, ApiTimeouts timeouts = {});

  // Errors (a string ready to print) are transport failures; an HTTP error status is a
  // response like any other.
  std::expected<ApiResponse, std::string> request(std::string_view method, std::string_view target,
                                                  std::string_view body = {},
                                                  std::string_view content_type = {}) const;

  // GET `target` and hand each chunk of the body to `on_chunk` as it arrives, until the server
  // closes. Without `deadline` it waits as long as the stream lasts (events --follow). A
  // non-2xx status comes back whole in the response, with on_chunk never called.
  using ChunkFn = std::function<void(std::string_view)>;
  std::expected<ApiResponse, std::string> stream(std::string_view target, const ChunkFn& on_chunk,
                                                 bool deadline) const;

  // GET `target` with "Connection: Upgrade" + "Upgrade: protocol". On 101 the socket;
  // otherwise the response (an error).
  std::expected<Upgraded, std::variant<ApiResponse, std::string>> upgrade(
      std::string_view target, std::string_view protocol) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  ApiTimeouts timeouts_;
};

// "web 1" -> "web%201": one path segment or query value.
std::string url_escape(std::string_view text);

// {"error":{"message":"..."}} -> its message; else "HTTP <status>: <body>".
std::string error_message(const ApiResponse& response);

}  // namespace qmd::qmctl
