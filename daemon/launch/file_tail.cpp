#include "daemon/launch/file_tail.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/unique_fd.hpp"

namespace qmd::daemon {

// The file may sit in a directory the QEMU user writes (swtpm.log): open it without following
// a link and without blocking on a FIFO, read only regular files, and only their last bytes.
std::string file_tail(const std::string& path, std::size_t lines, std::size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    return {};
  }
  const UniqueFd owned(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return {};
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  const std::size_t start = size > max_bytes ? size - max_bytes : 0;
  std::string text(size - start, '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::pread(fd, text.data() + done, text.size() - done,
                              static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  if (start > 0) {
    // The first line was cut by the byte cap: drop the partial line.
    const auto newline = text.find('\n');
    text.erase(0, newline == std::string::npos ? text.size() : newline + 1);
  }
  if (!text.empty() && text.back() != '\n') {
    text += '\n';
  }
  if (lines == 0) {
    return text;
  }
  // Walk back from before the final newline until `lines` line starts are behind us.
  std::size_t begin = text.empty() ? 0 : text.size() - 1;
  std::size_t seen = 0;
  while (begin > 0 && !(text[begin - 1] == '\n' && ++seen == lines)) {
    --begin;
  }
  return text.substr(begin);
}

}  // namespace qmd::daemon
