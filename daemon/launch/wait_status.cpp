#include "daemon/launch/wait_status.hpp"

#include <fmt/format.h>
#include <sys/wait.h>

#include <cstring>

namespace qmd::daemon {

std::string describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) {
    return fmt::format("exited with status {}", WEXITSTATUS(wait_status));
  }
  if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    return fmt::format("killed by signal {} ({})", sig, ::strsignal(sig));
  }
  return fmt::format("ended with wait status {}", wait_status);
}

}  // namespace qmd::daemon
