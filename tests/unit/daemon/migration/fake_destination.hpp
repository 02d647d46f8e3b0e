#pragma once
// The one fake DestinationQmd: each call answers with what the test scripted for it (a queue per
// call; an empty queue answers as a healthy destination would) and is recorded in order.
#include <boost/asio/awaitable.hpp>
#include <deque>
#include <string>
#include <vector>

#include "daemon/migration/destination_qmd.hpp"

namespace qmd::daemon::migration::testing {

inline PeerFailure unreachable(std::string words) {
  return {.kind = PeerFailure::Kind::unreachable, .message = std::move(words)};
}
inline PeerFailure refused(unsigned status, std::string message) {
  return {.kind = PeerFailure::Kind::refused, .http_status = status, .message = std::move(message)};
}
inline PeerFailure malformed(std::string message) {
  return {.kind = PeerFailure::Kind::malformed, .message = std::move(message)};
}

class FakeDestination final : public DestinationQmd {
 public:
  std::deque<PeerResult<IncomingReady>> prepare_answers;
  std::deque<PeerResult<IncomingStatus>> status_answers;
  std::deque<PeerResult<void>> commit_answers;
  std::deque<PeerResult<void>> drop_answers;
  std::deque<PeerResult<std::string>> state_answers;
  bool ssh = false;
  std::vector<std::string> calls;  // "prepare web", "commit web resume", ...

  const std::string& where() const override { return where_; }
  bool over_ssh() const override { return ssh; }

  boost::asio::awaitable<PeerResult<IncomingReady>> prepare(IncomingRequest request) override {
    calls.push_back("prepare " + request.source);
    co_return next(prepare_answers,
                   PeerResult<IncomingReady>(IncomingReady{.uri = "unix:/run/b/migrate.sock"}));
  }
  boost::asio::awaitable<PeerResult<IncomingStatus>> status(std::string name) override {
    calls.push_back("status " + name);
    co_return next(status_answers,
                   PeerResult<IncomingStatus>(IncomingStatus{
                       .name = name, .state = "migrating", .incoming = true, .status = "active"}));
  }
  boost::asio::awaitable<PeerResult<void>> commit(std::string name, CommitRequest commit) override {
    calls.push_back("commit " + name + (commit.resume ? " resume" : " paused"));
    co_return next(commit_answers, PeerResult<void>());
  }
  boost::asio::awaitable<PeerResult<void>> drop(std::string name) override {
    calls.push_back("drop " + name);
    co_return next(drop_answers, PeerResult<void>());
  }
  boost::asio::awaitable<PeerResult<std::string>> vm_state(std::string name) override {
    calls.push_back("state " + name);
    co_return next(state_answers, PeerResult<std::string>("running"));
  }

 private:
  template <typename T>
  static T next(std::deque<T>& answers, T healthy) {
    if (answers.empty()) {
      return healthy;
    }
    T answer = std::move(answers.front());
    answers.pop_front();
    return answer;
  }
  std::string where_ = "/run/qmd-b/qmd.sock";
};

}  // namespace qmd::daemon::migration::testing
