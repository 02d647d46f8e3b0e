#include "daemon/migration/ssh_master.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "daemon/launch/launcher.hpp"

namespace qmd::daemon::migration {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// sun_path holds 108 bytes with its NUL, and ssh first binds PATH.XXXXXXXXXXXXXXXX (17 more)
// before renaming it to PATH: stay well below.
constexpr std::size_t kMaxControlPath = 80;

struct ControlLocation {
  std::string path;
  std::string temp_dir;  // to remove with the socket; empty for the run dir's
};

std::string errno_text(std::string_view what) {
  return fmt::format("{}: {}", what, std::strerror(errno));
}

// `dir` as a directory only qmd's user can enter: created 0700, or an existing one that is
// ours (not a symlink planted by someone else).
std::expected<void, std::string> private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return std::unexpected(errno_text("mkdir " + dir));
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    return std::unexpected(errno_text("stat " + dir));
  }
  if (!S_ISDIR(st.st_mode) || st.st_uid != ::geteuid()) {
    return std::unexpected(fmt::format("{} is not a directory of qmd's user", dir));
  }
  if ((st.st_mode & 07777) != 0700 && ::chmod(dir.c_str(), 0700) != 0) {
    return std::unexpected(errno_text("chmod 0700 " + dir));
  }
  return {};
}

std::expected<ControlLocation, std::string> control_location(const std::string& run_dir) {
  static std::atomic<unsigned> counter{0};
  const std::string name = fmt::format("m{}", ++counter);
  const std::string dir = run_dir + "/ssh";
  if (dir.size() + 1 + name.size() <= kMaxControlPath) {
    if (auto made = private_dir(dir); !made) {
      return std::unexpected(made.error());
    }
    return ControlLocation{dir + "/" + name, ""};
  }
  // A run dir too deep for a socket path: a private directory of our own under /tmp.
  std::string temp = "/tmp/qmd-ssh.XXXXXX";
  if (::mkdtemp(temp.data()) == nullptr) {
    return std::unexpected(errno_text("mkdtemp /tmp/qmd-ssh.XXXXXX"));
  }
  return ControlLocation{temp + "/" + name, temp};
}

void remove_control(const std::string& path, const std::string& temp_dir) {
  ::unlink(path.c_str());  // ssh removes it when it ends normally; not after SIGKILL
  if (!temp_dir.empty()) {
    ::rmdir(temp_dir.c_str());
  }
}

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// What is left of a master once its owner is gone.
struct Ending {
  ProcessHandle process;
  std::string control_path;
  std::string temp_dir;
};

// Off the path of whoever dropped the last reference: the master was sent SIGTERM.
// (Every co_await result is named first: g++ 12 miscompiles `if (!co_await x)` here.)
asio::awaitable<void> finish_master(std::shared_ptr<Ending> ending) {
  const bool ended = co_await ending->process.wait_exit_for(3s);
  if (!ended) {
    ending->process.signal(SIGKILL);
    const bool killed = co_await ending->process.wait_exit_for(3s);
    (void)killed;  // a SIGKILLed process goes; if not even then, there is nothing more to do
  }
  remove_control(ending->control_path, ending->temp_dir);
}

}  // namespace

SshMaster::SshMaster(Key, asio::any_io_executor executor, std::string control_path,
                     std::string temp_dir, UniqueFd errors)
    : executor_(std::move(executor)),
      control_path_(std::move(control_path)),
      temp_dir_(std::move(temp_dir)),
      errors_(std::move(errors)) {}

SshMaster::~SshMaster() {
  if (process_ && process_->signal(SIGTERM)) {
    // Posted, not started here: co_spawn would run the reaper inline, inside whatever
    // coroutine is dropping the last reference (often while its frame is being destroyed).
    auto ending = std::make_shared<Ending>(
        Ending{std::move(*process_), control_path_, temp_dir_});
    // co_spawn takes a function, as everywhere else in qmd.
    auto reap = [executor = executor_, ending = std::move(ending)]() {
      auto finish = [ending] { return finish_master(ending); };
      asio::co_spawn(executor, std::move(finish), asio::detached);
    };
    asio::post(executor_, std::move(reap));
    return;
  }
  remove_control(control_path_, temp_dir_);
}

bool SshMaster::running() { return process_ && process_->signal(0); }

std::string SshMaster::said() const {
  std::string text;
  char buffer[4096];
  // pread: the file offset is shared with ssh's stderr, which may still be writing.
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(errors_.get(), buffer, sizeof buffer, at);
    if (n <= 0 || text.size() > 16384) {
      break;
    }
    text.append(buffer, static_cast<std::size_t>(n));
    at += n;
  }
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) {
      end = text.size();
    }
    std::string line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) {
      line.pop_back();
    }
    // Noise of StrictHostKeyChecking=no, not a reason.
    if (line.empty() || line.starts_with("Warning: Permanently added")) {
      continue;
    }
    out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

asio::awaitable<std::expected<std::shared_ptr<SshMaster>, std::string>> SshMaster::start(
    asio::any_io_executor executor, std::vector<std::string> ssh_options, std::string host,
    std::string run_dir, std::chrono::milliseconds limit) {
  auto where = control_location(run_dir);
  if (!where) {
    co_return std::unexpected(fmt::format("no place for ssh's control socket: {}", where.error()));
  }
  ::unlink(where->path.c_str());  // left by an earlier qmd: ssh would refuse to replace it
  UniqueFd errors(static_cast<int>(::syscall(SYS_memfd_create, "ssh-master", MFD_CLOEXEC)));
  if (!errors) {
    const std::string why = errno_text("memfd_create");
    remove_control(where->path, where->temp_dir);
    co_return std::unexpected(why);
  }
  // From here on the master's destructor ends ssh and removes what it made.
  auto master = std::make_shared<SshMaster>(Key(), executor, where->path, where->temp_dir,
                                            std::move(errors));
  std::vector<std::string> argv;
  argv.push_back(ssh_options.at(0));
  argv.insert(argv.end(), {"-M", "-N", "-S", master->control_path_, "-o", "ControlPersist=no"});
  argv.insert(argv.end(), ssh_options.begin() + 1, ssh_options.end());
  argv.insert(argv.end(), {"--", host});
  // launch()'s child (signals reset, setsid, fds closed, no_new_privs) without seccomp (ssh
  // is not the guest), tied to qmd: the kernel sends SIGTERM when qmd's loop thread ends.
  LaunchSpec spec;
  spec.argv = std::move(argv);
  spec.output_fd = master->errors_.get();
  spec.seccomp = false;
  spec.parent_death_signal = SIGTERM;
  auto launched = launch(spec);
  if (!launched) {
    co_return std::unexpected(launched.error());
  }
  master->process_.emplace(executor, launched->pid, launched->pidfd, true);

  // ssh creates the socket once logged in (it binds a temporary name, listens, then renames):
  // its presence means the next ssh -S rides this connection.
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (is_socket(master->control_path_)) {
      co_return master;
    }
    const bool exited = co_await master->process_->wait_exit_for(20ms);
    if (exited) {
      const std::string words = master->said();
      co_return std::unexpected(words.empty() ? "ssh " + master->process_->describe() : words);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const std::string words = master->said();
      co_return std::unexpected(fmt::format(
          "ssh did not log in within {} s{}",
          std::chrono::duration_cast<std::chrono::seconds>(limit).count(),
          words.empty() ? std::string() : " (" + words + ")"));
    }
  }
}

}  // namespace qmd::daemon::migration
