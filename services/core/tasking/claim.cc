#include "services/core/tasking/claim.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace pulp::core::tasking {

std::string WorkerChannel(const std::string& worker_pk) {
  return "pulp_worker_" + absl::StrReplaceAll(worker_pk, {{"-", ""}});
}

std::string ReadyCondition() {
  return "t.state = 'waiting' AND NOT EXISTS (SELECT 1 FROM core_task o"
         " WHERE o.state IN ('waiting', 'running', 'canceling') AND o.pulp_id <> t.pulp_id"
         " AND (o.state <> 'waiting' OR (o.pulp_created, o.pulp_id) < (t.pulp_created, t.pulp_id))"
         " AND (o.exclusive_resources && (t.exclusive_resources || t.shared_resources)"
         "      OR o.shared_resources && t.exclusive_resources))";
}

void WakeOneIdleWorker(pqxx::transaction_base& tx, int worker_ttl) {
  pqxx::result idle = tx.exec(
      absl::StrCat("SELECT pulp_id::text FROM core_appstatus WHERE app_type = 'worker' AND idle"
                   " AND last_heartbeat >= now() - interval '1 second' * ",
                   worker_ttl, " ORDER BY random() LIMIT 1"));
  if (idle.empty()) return;
  tx.exec("SELECT pg_notify(" + tx.quote(WorkerChannel(idle[0][0].as<std::string>())) + ", '')");
}

std::optional<ClaimedTask> ClaimTask(pqxx::connection& conn, const std::string& worker_pk,
                                     const std::string& only_pk, int worker_ttl,
                                     bool* more_waiting) {
  pqxx::work tx(conn);
  tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kClaimLockKey, ")"));
  // The lock makes every claimer see every committed claim, so the check is race-free.
  const std::string only =
      only_pk.empty() ? "" : " AND t.pulp_id = " + tx.quote(only_pk) + "::uuid";
  pqxx::result r = tx.exec(
      absl::StrCat("SELECT t.pulp_id::text, t.name, t.args::text, t.kwargs::text, t.logging_cid"
                   " FROM core_task t WHERE ",
                   ReadyCondition(), only, " ORDER BY t.pulp_created, t.pulp_id LIMIT 1"));
  const std::string worker = worker_pk.empty() ? "NULL" : tx.quote(worker_pk) + "::uuid";
  if (r.empty()) {
    if (!worker_pk.empty()) {
      tx.exec("UPDATE core_appstatus SET idle = TRUE, current_task_id = NULL WHERE pulp_id = " +
              worker);
    }
    tx.commit();
    if (more_waiting != nullptr) *more_waiting = false;
    return std::nullopt;
  }
  ClaimedTask task;
  task.pk = r[0][0].as<std::string>();
  task.name = r[0][1].as<std::string>();
  task.args = Json::parse(r[0][2].as<std::string>());
  task.kwargs = Json::parse(r[0][3].as<std::string>());
  task.logging_cid = r[0][4].as<std::string>();
  tx.exec(absl::StrCat(
      "UPDATE core_task SET state = 'running', worker_id = ", worker,
      ", started_at = clock_timestamp(), unblocked_at = COALESCE(unblocked_at, clock_timestamp()),"
      " pulp_last_updated = clock_timestamp() WHERE pulp_id = ",
      tx.quote(task.pk)));
  if (!worker_pk.empty()) {
    tx.exec(absl::StrCat("UPDATE core_appstatus SET idle = FALSE, current_task_id = ",
                         tx.quote(task.pk), " WHERE pulp_id = ", worker));
  }
  bool more = false;
  if (only_pk.empty()) {
    more = !tx.exec("SELECT 1 FROM core_task WHERE state = 'waiting' LIMIT 1").empty();
    // Hand the rest of the queue to an idle peer: one wake-up per claim, never a stampede.
    if (more) WakeOneIdleWorker(tx, worker_ttl);
  }
  tx.commit();
  if (more_waiting != nullptr) *more_waiting = more;
  return task;
}

}  // namespace pulp::core::tasking
