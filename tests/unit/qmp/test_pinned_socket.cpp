// qmd connects to QEMU's sockets in a run dir the VM's uid may write: a link planted there
// must not lead it to another socket.
#include <doctest/doctest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "qmp/pinned_socket.hpp"

using qmd::qmp::PinnedSocket;

namespace {

struct Dir {
  std::string path;
  Dir() {
    char name[] = "/tmp/qmd-pin-XXXXXX";
    path = ::mkdtemp(name);
  }
  ~Dir() { (void)!std::system(("rm -rf " + path).c_str()); }
};

int listening_at(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(fd, 4) == 0);
  return fd;
}

bool connects(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

TEST_CASE("a socket is pinned and reached through its descriptor") {
  Dir dir;
  const int server = listening_at(dir.path + "/qmp.sock");
  auto pinned = PinnedSocket::open(dir.path + "/qmp.sock");
  REQUIRE(pinned.has_value());
  CHECK(pinned->path().starts_with("/proc/self/fd/"));
  CHECK(connects(pinned->path()));
  ::close(server);
}

TEST_CASE("a link to another VM's socket is refused, though the target listens") {
  Dir dir;
  const int other = listening_at(dir.path + "/other.sock");
  REQUIRE(::symlink((dir.path + "/other.sock").c_str(), (dir.path + "/qga.sock").c_str()) == 0);
  CHECK(connects(dir.path + "/qga.sock"));  // the control: a plain connect follows the link
  auto pinned = PinnedSocket::open(dir.path + "/qga.sock");
  REQUIRE_FALSE(pinned.has_value());
  CHECK(pinned.error() == ENOTSOCK);
  CHECK(qmd::qmp::socket_refusal(pinned.error()).starts_with("not a socket"));
  ::close(other);
}

TEST_CASE("a regular file or a missing name is no socket") {
  Dir dir;
  (void)!std::system(("touch " + dir.path + "/file").c_str());
  CHECK(PinnedSocket::open(dir.path + "/file").error() == ENOTSOCK);
  CHECK(PinnedSocket::open(dir.path + "/none").error() == ENOENT);
}
