#pragma once

#include <pqxx/connection>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace pulp::core::db {

// A fixed-size pool of Postgres connections shared by a process's threads. A connection that
// broke (Postgres restarted) is replaced on its next lease, so callers only ever see one failed
// query, never a dead pool.
class Pool {
 public:
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn);
    Lease(Lease&&) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& operator*() { return *conn_; }
    pqxx::connection* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<pqxx::connection> conn_;
  };

  Pool(std::string connection_string, size_t size);
  ~Pool();

  // Waits up to `timeout` for a free connection and (re)connects it if needed.
  absl::StatusOr<Lease> Acquire(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Forgets every idle connection. Called when one broke: a Postgres restart breaks them all,
  // and each would otherwise fail one more request before reconnecting.
  void DropIdle();

  // Connects once, to fail fast at start with a clear message.
  absl::Status Ping();

  const std::string& connection_string() const { return connection_string_; }

 private:
  void Release(std::unique_ptr<pqxx::connection> conn);

  const std::string connection_string_;
  const size_t size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  size_t leased_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pulp::core::db
