#pragma once

#include <string>
#include <thread>

#include "absl/synchronization/notification.h"
#include "services/core/util/json.h"

namespace pulp::core::db {
class Pool;
}

namespace pulp::core::status {

// Keeps this process's row in core_appstatus fresh so status/ and workers/ can list it; the row
// is removed on a clean stop. Postgres being away only delays the next beat.
class Heartbeat {
 public:
  // `grpc_address` ("host:port", or empty) is how other processes reach this one.
  Heartbeat(db::Pool& pool, std::string app_type, std::string name, Json versions, int ttl_seconds,
            std::string grpc_address = "");
  ~Heartbeat();
  void Stop();

 private:
  void Beat();
  void Run();

  db::Pool& pool_;
  const std::string app_type_;
  const std::string name_;
  const Json versions_;
  const std::string grpc_address_;
  const int interval_seconds_;
  absl::Notification stop_;
  std::thread thread_;
  bool stopped_ = false;
};

// "{pid}@{hostname}", upstream's WORKER_NAME_TEMPLATE.
std::string ProcessName();

}  // namespace pulp::core::status
