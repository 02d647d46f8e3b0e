#include "daemon/runtime/migrate_tls_key.hpp"

#include <fmt/format.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace qmd::daemon::migrate_tls {
namespace {

struct KeyDeleter {
  void operator()(gnutls_x509_privkey_int* key) const { gnutls_x509_privkey_deinit(key); }
};
using Key = std::unique_ptr<gnutls_x509_privkey_int, KeyDeleter>;

// Frees what gnutls allocated for an exported key.
struct Exported {
  gnutls_datum_t datum{nullptr, 0};
  ~Exported() {
    if (datum.data != nullptr) {
      gnutls_memset(datum.data, 0, datum.size);
      gnutls_free(datum.data);
    }
  }
  std::string text() const {
    return std::string(reinterpret_cast<const char*>(datum.data), datum.size);
  }
};

std::expected<Key, std::string> import(const std::string& pem, const char* password) {
  gnutls_x509_privkey_t raw = nullptr;
  if (int rc = gnutls_x509_privkey_init(&raw); rc < 0) {
    return std::unexpected(fmt::format("gnutls: {}", gnutls_strerror(rc)));
  }
  Key key(raw);
  gnutls_datum_t in{reinterpret_cast<unsigned char*>(const_cast<char*>(pem.data())),
                    static_cast<unsigned>(pem.size())};
  const unsigned flags = password == nullptr ? GNUTLS_PKCS_PLAIN : 0;
  if (int rc = gnutls_x509_privkey_import2(key.get(), &in, GNUTLS_X509_FMT_PEM, password, flags);
      rc < 0) {
    return std::unexpected(
        fmt::format("not a private key that opens ({})", gnutls_strerror(rc)));
  }
  return key;
}

std::expected<std::string, std::string> export_pkcs8(const Key& key, const char* password,
                                                     unsigned flags) {
  Exported out;
  if (int rc = gnutls_x509_privkey_export2_pkcs8(key.get(), GNUTLS_X509_FMT_PEM, password, flags,
                                                 &out.datum);
      rc < 0) {
    return std::unexpected(fmt::format("export the key as PKCS#8: {}", gnutls_strerror(rc)));
  }
  return out.text();
}

}  // namespace

std::expected<std::string, std::string> new_key_password() {
  std::array<unsigned char, 32> random{};
  std::size_t done = 0;
  while (done < random.size()) {
    const ssize_t n = ::getrandom(random.data() + done, random.size() - done, 0);
    if (n < 0 && errno != EINTR) {
      return std::unexpected(fmt::format("getrandom: {}", std::strerror(errno)));
    }
    done += n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::string hex;
  for (unsigned char byte : random) {
    hex += fmt::format("{:02x}", byte);
  }
  return hex;
}

std::expected<std::string, std::string> encrypt_key(const std::string& pem,
                                                    const std::string& password) {
  auto key = import(pem, nullptr);
  if (!key) {
    return std::unexpected(key.error());
  }
  return export_pkcs8(*key, password.c_str(), GNUTLS_PKCS_PBES2_AES_256);
}

std::expected<std::string, std::string> decrypt_key(const std::string& encrypted_pem,
                                                    const std::string& password) {
  auto key = import(encrypted_pem, password.c_str());
  if (!key) {
    return std::unexpected(key.error());
  }
  return export_pkcs8(*key, nullptr, GNUTLS_PKCS_PLAIN);
}

}  // namespace qmd::daemon::migrate_tls
