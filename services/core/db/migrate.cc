#include "services/core/db/migrate.h"

#include <pqxx/pqxx>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/core/db/pool.h"

namespace pulp::core::db {
namespace {

// Arbitrary but fixed: every migrator of every version takes the same lock.
constexpr long long kMigrationLockKey = 0x70756c706d6967;  // "pulpmig"

constexpr char kCreateLedger[] =
    "CREATE TABLE IF NOT EXISTS pulp_migrations ("
    " app text NOT NULL, name text NOT NULL,"
    " applied timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (app, name))";

std::set<std::pair<std::string, std::string>> AppliedSet(pqxx::transaction_base& tx) {
  std::set<std::pair<std::string, std::string>> done;
  pqxx::result r = tx.exec("SELECT to_regclass('pulp_migrations') IS NOT NULL");
  if (!r[0][0].as<bool>()) return done;
  for (const auto& row : tx.exec("SELECT app, name FROM pulp_migrations")) {
    done.emplace(row[0].as<std::string>(), row[1].as<std::string>());
  }
  return done;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ApplyMigrations(Pool& pool,
                                                         const std::vector<Migration>& all) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  pqxx::connection& conn = **lease;
  std::vector<std::string> applied;
  try {
    {
      pqxx::nontransaction tx(conn);
      tx.exec(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")"));
      tx.exec(kCreateLedger);
    }
    struct Unlock {
      pqxx::connection& c;
      ~Unlock() {
        try {
          pqxx::nontransaction tx(c);
          tx.exec(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
        } catch (...) {
          // The session lock dies with the connection anyway.
        }
      }
    } unlock{conn};
    std::set<std::pair<std::string, std::string>> done;
    {
      pqxx::read_transaction tx(conn);
      done = AppliedSet(tx);
    }
    for (const Migration& m : all) {
      if (done.count({m.app, m.name})) continue;
      pqxx::work tx(conn);
      tx.exec(m.sql);
      tx.exec(absl::StrCat("INSERT INTO pulp_migrations (app, name) VALUES (", tx.quote(m.app),
                           ", ", tx.quote(m.name), ")"));
      tx.commit();
      applied.push_back(absl::StrCat(m.app, ".", m.name));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("migration failed: ", e.what()));
  }
  return applied;
}

absl::StatusOr<std::vector<MigrationState>> ListMigrations(Pool& pool,
                                                           const std::vector<Migration>& all) {
  auto lease = pool.Acquire();
  if (!lease.ok()) return lease.status();
  std::vector<MigrationState> out;
  try {
    pqxx::read_transaction tx(**lease);
    auto done = AppliedSet(tx);
    for (const Migration& m : all) out.push_back({m, done.count({m.app, m.name}) > 0});
  } catch (const std::exception& e) {
    return absl::UnavailableError(e.what());
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> PendingMigrations(Pool& pool,
                                                           const std::vector<Migration>& all) {
  auto states = ListMigrations(pool, all);
  if (!states.ok()) return states.status();
  std::vector<std::string> pending;
  for (const auto& s : *states) {
    if (!s.applied) pending.push_back(absl::StrCat(s.migration.app, ".", s.migration.name));
  }
  return pending;
}

}  // namespace pulp::core::db
