#include "qmp/client.hpp"

#include <boost/asio/this_coro.hpp>

#include "qmp/session.hpp"

namespace qmd::qmp {
QmpClient::QmpClient(std::shared_ptr<detail::Session> session) : session_(std::move(session)) {}
QmpClient::QmpClient(QmpClient&&) noexcept = default;
QmpClient& QmpClient::operator=(QmpClient&& other) noexcept {
  if (this != &other) {
    close();
    session_ = std::move(other.session_);
  }
  return *this;
}
QmpClient::~QmpClient() { close(); }

asio::awaitable<std::expected<QmpClient, QmpError>> QmpClient::open(
    std::shared_ptr<detail::Session> session, std::string path, std::chrono::milliseconds timeout) {
  if (auto error = co_await session->open(std::move(path), timeout)) {
    co_return std::unexpected(std::move(*error));
  }
  co_return QmpClient(std::move(session));
}

asio::awaitable<std::expected<QmpClient, QmpError>> QmpClient::connect(
    std::string path, std::chrono::milliseconds timeout, QmpOptions options) {
  auto executor = co_await asio::this_coro::executor;
  auto session =
      std::make_shared<detail::Session>(asio::local::stream_protocol::socket(executor), options);
  co_return co_await open(std::move(session), std::move(path), timeout);
}

asio::awaitable<std::expected<QmpClient, QmpError>> QmpClient::adopt(
    asio::local::stream_protocol::socket socket, std::chrono::milliseconds timeout,
    QmpOptions options) {
  auto session = std::make_shared<detail::Session>(std::move(socket), options);
  co_return co_await open(std::move(session), "", timeout);
}

asio::awaitable<QmpResult> QmpClient::execute(std::string name, boost::json::object arguments) {
  auto session = session_;
  if (!session) {
    co_return std::unexpected(QmpError{QmpError::Kind::closed, "", "moved-from QMP client"});
  }
  co_return co_await session->execute(std::move(name), std::move(arguments),
                                      session->options().command_timeout);
}

asio::awaitable<QmpResult> QmpClient::execute(std::string name, boost::json::object arguments,
                                              std::chrono::milliseconds timeout) {
  auto session = session_;
  if (!session) {
    co_return std::unexpected(QmpError{QmpError::Kind::closed, "", "moved-from QMP client"});
  }
  co_return co_await session->execute(std::move(name), std::move(arguments), timeout);
}

asio::awaitable<QmpResult> QmpClient::execute_with_fd(std::string name,
                                                      boost::json::object arguments,
                                                      UniqueFd fd,
                                                      std::chrono::milliseconds timeout) {
  auto session = session_;
  if (!session) {
    co_return std::unexpected(QmpError{QmpError::Kind::closed, "", "moved-from QMP client"});
  }
  co_return co_await session->execute(std::move(name), std::move(arguments), timeout,
                                      std::move(fd));
}

void QmpClient::on_event(EventHandler handler) { session_->subscribe(std::move(handler)); }

const QmpGreeting& QmpClient::greeting() const { return session_->greeting(); }

bool QmpClient::is_open() const { return session_ && !session_->closed(); }

const QmpError* QmpClient::close_reason() const {
  if (!session_ || !session_->closed()) {
    return nullptr;
  }
  return &*session_->closed();
}

std::size_t QmpClient::pending() const { return session_ ? session_->pending() : 0; }

void QmpClient::close() {
  if (session_) {
    session_->fail({QmpError::Kind::closed, "", "the QMP client was closed"});
  }
}

}  // namespace qmd::qmp
