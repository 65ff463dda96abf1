#include "services/core/auth/authenticator.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <pqxx/pqxx>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "services/core/auth/password.h"
#include "services/core/db/pool.h"
#include "services/core/http/errors.h"
#include "services/core/util/uuid.h"

namespace pulp::core::auth {
namespace {
// How long a verified password is trusted before the user row is read again; a changed
// password or a deactivated user takes effect within this window.
constexpr auto kCacheTtl = std::chrono::seconds(10);
}  // namespace

std::string Authenticator::RandomKey() { return RandomHex(32); }

std::string Authenticator::Digest(const std::string& password) const {
  unsigned char out[32];
  unsigned int len = sizeof out;
  HMAC(EVP_sha256(), cache_key_.data(), static_cast<int>(cache_key_.size()),
       reinterpret_cast<const unsigned char*>(password.data()), password.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

Authenticator::Result Authenticator::Authenticate(const http::Request& request) {
  Result result;
  const std::string header = request.Header("authorization");
  if (header.empty()) return result;
  // DRF's BasicAuthentication: another scheme is "no credentials"; a malformed Basic header is
  // a 401 with a message saying what is wrong with it.
  std::vector<std::string> parts = absl::StrSplit(header, ' ', absl::SkipEmpty());
  if (parts.empty() || !absl::EqualsIgnoreCase(parts[0], "basic")) return result;
  result.outcome = Outcome::kInvalid;
  if (parts.size() == 1) {
    result.error = "Invalid basic header. No credentials provided.";
    return result;
  }
  if (parts.size() > 2) {
    result.error = "Invalid basic header. Credentials string should not contain spaces.";
    return result;
  }
  std::string decoded;
  const size_t colon_probe =
      absl::Base64Unescape(parts[1], &decoded) ? decoded.find(':') : std::string::npos;
  if (colon_probe == std::string::npos) {
    result.error = "Invalid basic header. Credentials not correctly base64 encoded.";
    return result;
  }
  result.error = "Invalid username/password.";
  const size_t colon = colon_probe;
  const std::string username = decoded.substr(0, colon);
  const std::string password = decoded.substr(colon + 1);
  const std::string digest = Digest(password);
  const auto now = std::chrono::steady_clock::now();

  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(username);
    if (it != cache_.end() && now - it->second.checked < kCacheTtl &&
        it->second.password_digest.size() == digest.size() &&
        CRYPTO_memcmp(it->second.password_digest.data(), digest.data(), digest.size()) == 0) {
      result.outcome = Outcome::kOk;
      result.user = it->second.user;
      return result;
    }
  }

  auto lease = pool_.Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::read_transaction tx(**lease);
  pqxx::result rows =
      tx.exec("SELECT id, username, password, is_superuser FROM core_user WHERE username = " +
              tx.quote(username) + " AND is_active");
  if (rows.empty()) return result;
  CacheEntry entry;
  entry.user.id = rows[0][0].as<int64_t>();
  entry.user.username = rows[0][1].as<std::string>();
  entry.encoded_hash = rows[0][2].as<std::string>();
  entry.user.is_superuser = rows[0][3].as<bool>();
  entry.password_digest = digest;
  entry.checked = now;

  bool known = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(username);
    known = it != cache_.end() && it->second.encoded_hash == entry.encoded_hash &&
            CRYPTO_memcmp(it->second.password_digest.data(), digest.data(), digest.size()) == 0;
  }
  if (!known && !VerifyPassword(password, entry.encoded_hash)) return result;
  result.outcome = Outcome::kOk;
  result.user = entry.user;
  absl::MutexLock lock(&mu_);
  cache_[username] = std::move(entry);
  return result;
}

}  // namespace pulp::core::auth
