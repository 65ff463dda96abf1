#include "services/core/auth/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/core/util/uuid.h"

namespace pulp::core::auth {
namespace {

std::string Pbkdf2(absl::string_view password, absl::string_view salt, int iterations) {
  unsigned char out[32];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), iterations, EVP_sha256(), sizeof out, out);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(out), sizeof out));
}

}  // namespace

std::string HashPassword(absl::string_view password, int iterations) {
  // Django salts are 22 characters from [a-zA-Z0-9]; hex is a subset of that alphabet.
  const std::string salt = RandomHex(11);
  return absl::StrCat("pbkdf2_sha256$", iterations, "$", salt, "$",
                      Pbkdf2(password, salt, iterations));
}

bool VerifyPassword(absl::string_view password, absl::string_view encoded) {
  std::vector<absl::string_view> parts = absl::StrSplit(encoded, '$');
  if (parts.size() != 4 || parts[0] != "pbkdf2_sha256") return false;
  int iterations;
  if (!absl::SimpleAtoi(parts[1], &iterations) || iterations < 1 || iterations > 100'000'000) {
    return false;
  }
  const std::string computed = Pbkdf2(password, parts[2], iterations);
  return computed.size() == parts[3].size() &&
         CRYPTO_memcmp(computed.data(), parts[3].data(), computed.size()) == 0;
}

}  // namespace pulp::core::auth
