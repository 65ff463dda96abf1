#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "services/core/http/message.h"

namespace pulp::core::db {
class Pool;
}

namespace pulp::core::auth {

// HTTP Basic authentication against core_user. PBKDF2 at a million rounds costs ~0.5 s of CPU,
// which upstream pays on every request; we pay it once per user and password and then
// remember a keyed digest of the accepted password for a short while.
class Authenticator {
 public:
  explicit Authenticator(db::Pool& pool) : pool_(pool), cache_key_(RandomKey()) {}

  enum class Outcome { kNoCredentials, kInvalid, kOk };
  struct Result {
    Outcome outcome = Outcome::kNoCredentials;
    http::User user;
    std::string error;  // DRF's message for kInvalid
  };

  // Reads the Authorization header. Database trouble is an exception (503 upstream of here).
  Result Authenticate(const http::Request& request);

 private:
  struct CacheEntry {
    http::User user;
    std::string encoded_hash;
    std::string password_digest;
    std::chrono::steady_clock::time_point checked;
  };
  static std::string RandomKey();
  std::string Digest(const std::string& password) const;

  db::Pool& pool_;
  const std::string cache_key_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CacheEntry> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pulp::core::auth
