#include "daemon/runtime/seed_iso.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "daemon/launch/child_process.hpp"
#include "daemon/store/remove_tree.hpp"

namespace qmd::daemon {

namespace {

namespace fs = std::filesystem;

// A directory only qmd can reach (0700, a random name under TMPDIR), removed with what is in
// it when it goes out of scope. genisoimage reads the payloads from its `root/`.
class StagingDir {
 public:
  static std::expected<StagingDir, std::string> make() {
    std::error_code ec;
    std::string pattern = (fs::temp_directory_path(ec) / "qmd-seed-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      return std::unexpected(fmt::format("make a staging directory {}: {}", pattern,
                                         std::strerror(errno)));
    }
    StagingDir out;
    out.path_ = pattern;
    if (::mkdir((pattern + "/root").c_str(), 0700) != 0) {
      return std::unexpected(fmt::format("make {}/root: {}", pattern, std::strerror(errno)));
    }
    return out;
  }
  StagingDir(StagingDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  StagingDir& operator=(StagingDir&&) = delete;
  ~StagingDir() {
    if (!path_.empty()) {
      (void)remove_tree(path_);
    }
  }
  std::string root() const { return path_ + "/root"; }
  std::string log() const { return path_ + "/tool.log"; }

 private:
  StagingDir() = default;
  std::string path_;
};

std::expected<void, std::string> write_all(int fd, const std::string& bytes,
                                           const std::string& shown) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const auto n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return std::unexpected(fmt::format("write {}: {}", shown, std::strerror(errno)));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

// Writes `bytes` as `relative` ("openstack/latest/user_data") beneath `root`.
std::expected<void, std::string> stage(const std::string& root, const std::string& relative,
                                       const std::string& bytes) {
  UniqueFd dir = open_dir_nofollow(AT_FDCWD, root.c_str());
  const fs::path rel(relative);
  for (const auto& part : rel.parent_path()) {
    if (!dir || (::mkdirat(dir.get(), part.c_str(), 0700) != 0 && errno != EEXIST)) {
      return std::unexpected(fmt::format("stage {}: {}", relative, std::strerror(errno)));
    }
    dir = open_dir_nofollow(dir.get(), part.c_str());
  }
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  UniqueFd fd(dir ? ::openat(dir.get(), rel.filename().c_str(), flags, 0600) : -1);
  if (!fd) {
    return std::unexpected(fmt::format("stage {}: {}", relative, std::strerror(errno)));
  }
  return write_all(fd.get(), bytes, relative);
}

// A fresh, empty image file in the run directory (what a previous start left is replaced).
std::expected<UniqueFd, std::string> new_image(int run_dir, const std::string& name,
                                               const std::string& shown) {
  if (::unlinkat(run_dir, name.c_str(), 0) != 0 && errno != ENOENT) {
    return std::unexpected(fmt::format("remove the old {}: {}", shown, std::strerror(errno)));
  }
  UniqueFd fd(::openat(run_dir, name.c_str(),
                       O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) {
    return std::unexpected(fmt::format("create {}: {}", shown, std::strerror(errno)));
  }
  return fd;
}

// genisoimage writes the image through qmd's descriptor, never by a path in the run
// directory, which the QEMU user can change.
std::expected<void, std::string> run_tool(const cmdline::SeedPlan& plan, const SeedBuild& how,
                                          const StagingDir& staging, int image) {
  const std::string via = fmt::format("/proc/{}/fd/{}", ::getpid(), image);
  auto made = run_to_completion({how.tool, "-quiet", "-input-charset", "utf-8", "-volid",
                                        plan.label, "-joliet", "-rock", "-output", via,
                                        staging.root()},
                                       staging.log(), how.timeout);
  if (!made) {
    return std::unexpected(fmt::format("{} (is Debian's genisoimage installed?)", made.error()));
  }
  struct stat st {};
  if (::fstat(image, &st) != 0 || st.st_size == 0) {
    return std::unexpected(fmt::format("{} wrote nothing", how.tool));
  }
  if (how.owner && ::fchown(image, how.owner->uid, how.owner->gid) != 0) {
    return std::unexpected(fmt::format("hand it to {}:{}: {}", how.owner->uid, how.owner->gid,
                                       std::strerror(errno)));
  }
  return {};
}

std::expected<void, std::string> fill(const cmdline::SeedPlan& plan, const SeedBuild& how,
                                      int image) {
  auto staging = StagingDir::make();
  if (!staging) {
    return std::unexpected(staging.error());
  }
  std::vector<std::string> optional;
  bool any_optional = false;
  for (const auto& file : plan.files) {
    auto bytes = seed_payload(file, how.secrets_dir);
    if (!bytes) {
      return std::unexpected(bytes.error());
    }
    if (file.optional) {
      optional.push_back(file.path);
      any_optional = any_optional || bytes->has_value();
    }
    if (!*bytes) {
      continue;
    }
    if (auto staged = stage(staging->root(), file.path, **bytes); !staged) {
      return staged;
    }
  }
  if (plan.needs_one && !any_optional) {
    const auto& secret = plan.files.front().secret;
    return std::unexpected(fmt::format("secret {} ({}/{}) holds none of {}: put the answer file "
                                       "there as {}",
                                       secret, how.secrets_dir, secret,
                                       fmt::join(optional, ", "), optional.front()));
  }
  return run_tool(plan, how, *staging, image);
}

}  // namespace

std::expected<void, std::string> build_seed(const cmdline::SeedPlan& plan,
                                            const SeedBuild& how) {
  const fs::path path(plan.path);
  if (path.parent_path() != fs::path(how.run_dir)) {
    return std::unexpected(fmt::format("{} is not in the run directory {}", plan.path,
                                       how.run_dir));
  }
  UniqueFd dir = open_dir_nofollow(AT_FDCWD, how.run_dir.c_str());
  if (!dir) {
    return std::unexpected(fmt::format("open the run directory {}: {}", how.run_dir,
                                       std::strerror(errno)));
  }
  const std::string name = path.filename().string();
  auto image = new_image(dir.get(), name, plan.path);
  if (!image) {
    return std::unexpected(image.error());
  }
  auto filled = fill(plan, how, image->get());
  if (!filled) {
    (void)::unlinkat(dir.get(), name.c_str(), 0);
  }
  return filled;
}

std::optional<std::string> build_seeds(const cmdline::RenderResult& rendered,
                                       const SeedBuild& how) {
  for (std::size_t i = 0; i < rendered.seeds.size(); ++i) {
    const auto& plan = rendered.seeds[i];
    if (auto built = build_seed(plan, how); !built) {
      if (UniqueFd dir = open_dir_nofollow(AT_FDCWD, how.run_dir.c_str())) {
        for (std::size_t j = 0; j < i; ++j) {  // the ones built before go too
          (void)::unlinkat(dir.get(), fs::path(rendered.seeds[j].path).filename().c_str(), 0);
        }
      }
      return fmt::format("volume \"{}\" ({}): building its seed image {} failed: {}",
                         plan.volume, plan.source, plan.path, built.error());
    }
  }
  return std::nullopt;
}

}  // namespace qmd::daemon
