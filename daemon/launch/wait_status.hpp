#pragma once
// A child's waitpid status in words, for logs and errors.
#include <string>

namespace qmd::daemon {

// "exited with status 1", "killed by signal 6 (Aborted)".
std::string describe_status(int wait_status);

}  // namespace qmd::daemon
