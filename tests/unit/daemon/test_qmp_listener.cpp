// The QMP socket qmd listens on before QEMU starts (daemon/launch/listen_socket.cpp,
// daemon/runtime/qmp_listener.cpp): a connection made before anyone accepts waits in the
// backlog; one whose acceptor dies without accepting ends at once; whatever sat at the
// socket's name is replaced, never followed; the argv passes the descriptor instead of the
// path and changes nothing else.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon/launch/listen_socket.hpp"
#include "daemon/runtime/qmp_listener.hpp"
#include "tests/integration/support.hpp"

namespace fs = std::filesystem;
using qmd::daemon::listen_for_monitor;
using qmd::daemon::listen_unix_at;
using qmd::UniqueFd;
using qmd::daemon::with_monitor_fd;
using Args = std::vector<std::string>;

namespace {

UniqueFd open_dir(const std::string& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// A client connection to `path`; empty when connect() failed.
UniqueFd connect_to(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return UniqueFd();
  }
  return fd;
}

bool is_socket_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

TEST_CASE("a connection made before anyone accepts waits, then carries bytes both ways") {
  qmd::itest::TempDir dir("qmpl");
  const std::string path = dir.path() + "/qmp.sock";
  auto listening = listen_for_monitor(path);
  REQUIRE(listening);
  CHECK(is_socket_nofollow(path));

  UniqueFd client = connect_to(path);  // nobody has called accept() yet
  REQUIRE(client);
  UniqueFd server(::accept4(listening->get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(server);
  CHECK(::write(server.get(), "{\"QMP\":{}}\n", 11) == 11);
  char got[16] = {};
  CHECK(::read(client.get(), got, sizeof got) == 11);
  CHECK(std::string(got) == "{\"QMP\":{}}\n");
}

TEST_CASE("the socket file is qmd's own, with no write bit for others") {
  qmd::itest::TempDir dir("qmpl");
  const mode_t saved = ::umask(0027);  // qmd's umask (daemon/main.cpp)
  auto listening = listen_for_monitor(dir.path() + "/qmp.sock");
  ::umask(saved);
  REQUIRE(listening);
  struct stat st {};
  REQUIRE(::lstat((dir.path() + "/qmp.sock").c_str(), &st) == 0);
  CHECK(st.st_uid == ::geteuid());
  CHECK((st.st_mode & 0777) == 0750);  // connecting needs write permission: qmd's user only
}

TEST_CASE("a waiting connection ends at once when the process that was to accept it dies") {
  qmd::itest::TempDir dir("qmpl");
  const std::string path = dir.path() + "/qmp.sock";
  auto listening = listen_for_monitor(path);
  REQUIRE(listening);
  int gate[2];
  REQUIRE(::pipe2(gate, O_CLOEXEC) == 0);
  const pid_t child = ::fork();  // stands for a QEMU that fails before it accepts
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(gate[1]);
    char byte = 0;
    (void)::read(gate[0], &byte, 1);
    ::_exit(1);
  }
  ::close(gate[0]);
  listening->reset();  // qmd closes its copy once QEMU has it
  UniqueFd client = connect_to(path);
  REQUIRE(client);   // queued: the child holds the listening socket
  ::close(gate[1]);  // the child exits without accepting
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  const timeval bound{5, 0};  // a hang would fail here, not stall the suite
  REQUIRE(::setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound) == 0);
  char byte = 0;
  const ssize_t got = ::read(client.get(), &byte, 1);
  const int err = errno;
  CHECK(got <= 0);
  if (got < 0) {
    CHECK(err == ECONNRESET);
  }
}

TEST_CASE("a stale socket, a file or a link at the name is replaced, and a link not followed") {
  qmd::itest::TempDir dir("qmpl");
  const std::string path = dir.path() + "/qmp.sock";
  UniqueFd where = open_dir(dir.path());
  REQUIRE(where);
  {
    auto stale = listen_unix_at(where.get(), "qmp.sock", path);
    REQUIRE(stale);
  }  // closed: a crashed QEMU's socket left behind
  CHECK(listen_unix_at(where.get(), "qmp.sock", path));

  std::ofstream(path + ".x") << "x";
  fs::remove(path);
  fs::rename(path + ".x", path);
  CHECK(listen_unix_at(where.get(), "qmp.sock", path));
  CHECK(is_socket_nofollow(path));

  const std::string victim = dir.path() + "/root-file";
  std::ofstream(victim) << "root's secret";
  fs::remove(path);
  fs::create_symlink(victim, path);
  auto listening = listen_unix_at(where.get(), "qmp.sock", path);
  REQUIRE(listening);
  CHECK(is_socket_nofollow(path));
  CHECK(qmd::itest::read_text(victim) == "root's secret");
  CHECK(fs::is_regular_file(victim));
}

TEST_CASE("a directory at the name is an error that names the path, and the directory stays") {
  qmd::itest::TempDir dir("qmpl");
  const std::string path = dir.sub("qmp.sock");
  std::ofstream(path + "/kept") << "k";
  auto listening = listen_for_monitor(path);
  REQUIRE_FALSE(listening);
  CHECK(listening.error().find(path) != std::string::npos);
  CHECK(fs::is_directory(path));
  CHECK(fs::exists(path + "/kept"));
}

TEST_CASE("a name with a slash, or none, is refused") {
  qmd::itest::TempDir dir("qmpl");
  UniqueFd where = open_dir(dir.path());
  CHECK_FALSE(listen_unix_at(where.get(), "a/b", "a/b"));
  CHECK_FALSE(listen_unix_at(where.get(), "", "(none)"));
}

TEST_CASE("the monitor's chardev gets fd=N in place of its path; nothing else changes") {
  const Args args{"-S",
                  "-chardev",
                  "socket,id=charmonitor,path=/run/qmd/vms/a/qmp.sock,server=on,wait=off",
                  "-mon",
                  "chardev=charmonitor,id=monitor,mode=control",
                  "-chardev",
                  "socket,id=charchannel0,path=/run/qmd/vms/a/qga.sock,server=on,wait=off"};
  auto passed = with_monitor_fd(args, "/run/qmd/vms/a/qmp.sock", 7);
  REQUIRE(passed);
  Args expected = args;
  expected[2] = "socket,id=charmonitor,fd=7,server=on,wait=off";
  CHECK(*passed == expected);
}

TEST_CASE("a path with a comma is matched as QEMU reads it (,, is one comma)") {
  const Args args{"-chardev", "socket,id=charmonitor,path=/run/a,,b/qmp.sock,server=on"};
  auto passed = with_monitor_fd(args, "/run/a,b/qmp.sock", 12);
  REQUIRE(passed);
  CHECK(*passed == Args{"-chardev", "socket,id=charmonitor,fd=12,server=on"});
}

TEST_CASE("no chardev at the path (or only one at a longer path) is an error naming it") {
  const Args args{"-chardev", "socket,id=charmonitor,path=/run/a/qmp.sock.old,server=on", "-mon",
                  "chardev=charmonitor,id=monitor,mode=control"};
  auto passed = with_monitor_fd(args, "/run/a/qmp.sock", 7);
  REQUIRE_FALSE(passed);
  CHECK(passed.error().find("/run/a/qmp.sock") != std::string::npos);
  CHECK_FALSE(with_monitor_fd({}, "/run/a/qmp.sock", 7));
}
