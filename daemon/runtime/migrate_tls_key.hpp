#pragma once
// The copy of the migration TLS private key that QEMU reads: PKCS#8, encrypted (PBES2,
// AES-256) with a password made for the one migration. The file lies where the QEMU user
// can read it (QEMU opens it itself, by name), so what protects it is the password, which
// only the one QEMU gets, as a `secret` object over its own QMP socket.
#include <expected>
#include <string>

namespace qmd::daemon::migrate_tls {

// 32 random bytes as 64 hex digits.
std::expected<std::string, std::string> new_key_password();

// `pem` (a private key in PEM: PKCS#1, SEC1 or unencrypted PKCS#8) encrypted with
// `password`, as an "ENCRYPTED PRIVATE KEY" PEM. The error says what gnutls could not do.
std::expected<std::string, std::string> encrypt_key(const std::string& pem,
                                                    const std::string& password);

// The key in `encrypted_pem` decrypted with `password` and exported as unencrypted PKCS#8
// PEM (tests, and a check that the staged copy opens only with its password).
std::expected<std::string, std::string> decrypt_key(const std::string& encrypted_pem,
                                                    const std::string& password);

}  // namespace qmd::daemon::migrate_tls
