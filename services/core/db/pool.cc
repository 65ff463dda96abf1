#include "services/core/db/pool.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace pulp::core::db {

Pool::Lease::Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

Pool::Lease::Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {}

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->Release(std::move(conn_));
}

Pool::Pool(std::string connection_string, size_t size)
    : connection_string_(std::move(connection_string)), size_(size) {}

Pool::~Pool() = default;

absl::StatusOr<Pool::Lease> Pool::Acquire(std::chrono::milliseconds timeout) {
  std::unique_ptr<pqxx::connection> conn;
  {
    absl::MutexLock lock(&mu_);
    auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || leased_ < size_;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&available), absl::FromChrono(timeout))) {
      return absl::UnavailableError("timed out waiting for a database connection");
    }
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    ++leased_;
  }
  if (conn == nullptr || !conn->is_open()) {
    try {
      conn = std::make_unique<pqxx::connection>(connection_string_);
    } catch (const std::exception& e) {
      absl::MutexLock lock(&mu_);
      --leased_;
      return absl::UnavailableError(absl::StrCat("database unavailable: ", e.what()));
    }
  }
  return Lease(this, std::move(conn));
}

void Pool::Release(std::unique_ptr<pqxx::connection> conn) {
  absl::MutexLock lock(&mu_);
  --leased_;
  if (conn->is_open()) idle_.push_back(std::move(conn));
}

void Pool::DropIdle() {
  std::vector<std::unique_ptr<pqxx::connection>> dropped;
  {
    absl::MutexLock lock(&mu_);
    dropped.swap(idle_);
  }
  // Closed outside the lock; a dead socket closes at once.
}

absl::Status Pool::Ping() {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::nontransaction tx(**lease);
    tx.exec("SELECT 1");
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("database unavailable: ", e.what()));
  }
  return absl::OkStatus();
}

}  // namespace pulp::core::db
