#include "services/core/status/heartbeat.h"

#include <unistd.h>

#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "services/core/db/pool.h"
#include "services/core/util/uuid.h"

namespace pulp::core::status {

std::string ProcessName() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return absl::StrCat(getpid(), "@", host);
}

Heartbeat::Heartbeat(db::Pool& pool, std::string app_type, std::string name, Json versions,
                     int ttl_seconds, std::string grpc_address)
    : pool_(pool),
      app_type_(std::move(app_type)),
      name_(std::move(name)),
      versions_(std::move(versions)),
      grpc_address_(std::move(grpc_address)),
      interval_seconds_(std::max(1, ttl_seconds / 3)) {
  Beat();
  thread_ = std::thread([this] { Run(); });
}

Heartbeat::~Heartbeat() { Stop(); }

void Heartbeat::Beat() {
  try {
    auto lease = pool_.Acquire();
    if (!lease.ok()) return;
    pqxx::work tx(**lease);
    tx.exec(absl::StrCat(
        "INSERT INTO core_appstatus (pulp_id, app_type, name, versions, grpc_address) VALUES (",
        tx.quote(NewUuid()), ", ", tx.quote(app_type_), ", ", tx.quote(name_), ", ",
        tx.quote(DumpJson(versions_)), "::jsonb, ",
        grpc_address_.empty() ? "NULL" : tx.quote(grpc_address_),
        ") ON CONFLICT (app_type, name) DO UPDATE SET last_heartbeat = clock_timestamp(),"
        " pulp_last_updated = clock_timestamp(), versions = EXCLUDED.versions,"
        " grpc_address = EXCLUDED.grpc_address"));
    tx.commit();
  } catch (const std::exception& e) {
    std::cerr << "heartbeat: " << e.what() << std::endl;
  }
}

void Heartbeat::Run() {
  while (!stop_.WaitForNotificationWithTimeout(absl::Seconds(interval_seconds_))) Beat();
}

void Heartbeat::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stop_.Notify();
  if (thread_.joinable()) thread_.join();
  try {
    auto lease = pool_.Acquire(std::chrono::seconds(2));
    if (!lease.ok()) return;
    pqxx::work tx(**lease);
    tx.exec(absl::StrCat("DELETE FROM core_appstatus WHERE app_type = ", tx.quote(app_type_),
                         " AND name = ", tx.quote(name_)));
    tx.commit();
  } catch (const std::exception&) {
    // The row simply ages out.
  }
}

}  // namespace pulp::core::status
