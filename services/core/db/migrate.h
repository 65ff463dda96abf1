#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pulp::core::db {

class Pool;

// One numbered SQL migration of one app ("core", "file", ...), compiled into the binary.
struct Migration {
  std::string app;
  std::string name;  // file name, e.g. 0001_initial.sql; applied in name order within an app
  std::string sql;
};

struct MigrationState {
  Migration migration;
  bool applied = false;
};

// Applies every migration not yet recorded, each in its own transaction, under a Postgres
// advisory lock so concurrent migrators queue up instead of racing. Returns the names applied.
absl::StatusOr<std::vector<std::string>> ApplyMigrations(Pool& pool,
                                                         const std::vector<Migration>& all);

// Every known migration and whether the database has it, in application order.
absl::StatusOr<std::vector<MigrationState>> ListMigrations(Pool& pool,
                                                           const std::vector<Migration>& all);

// Names of known migrations the database lacks; empty means the schema is current.
absl::StatusOr<std::vector<std::string>> PendingMigrations(Pool& pool,
                                                           const std::vector<Migration>& all);

}  // namespace pulp::core::db
