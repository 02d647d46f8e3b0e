#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "daemon/launch/launcher.hpp"

namespace qmd::daemon {

std::expected<Credentials, std::string> lookup_user(const std::string& name) {
  long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
  std::vector<char> buf(hint > 0 ? static_cast<std::size_t>(hint) : 4096);
  struct passwd pw {};
  struct passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found)) == ERANGE) {
    buf.resize(buf.size() * 2);
  }
  if (rc != 0) {
    return std::unexpected("user " + name + ": " + std::strerror(rc));
  }
  if (found == nullptr) {
    return std::unexpected("user " + name + ": no such user");
  }
  Credentials creds;
  creds.uid = pw.pw_uid;
  creds.gid = pw.pw_gid;
  int count = 16;
  for (;;) {
    creds.groups.resize(static_cast<std::size_t>(count));
    int want = count;
    if (::getgrouplist(pw.pw_name, pw.pw_gid, creds.groups.data(), &want) >= 0) {
      creds.groups.resize(static_cast<std::size_t>(want));
      return creds;
    }
    if (want <= count) {
      return std::unexpected("user " + name + ": cannot read its groups");
    }
    count = want;
  }
}

}  // namespace qmd::daemon
