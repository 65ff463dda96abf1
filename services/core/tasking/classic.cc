#include "services/core/tasking/classic.h"

#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/tasking/claim.h"

namespace pulp::core::tasking {
namespace {

// Puts running tasks matching a condition back in line (they never started).
constexpr char kBackInLine[] =
    "UPDATE core_task SET state = 'waiting', worker_id = NULL, assigned_term = NULL,"
    " started_at = NULL, pulp_last_updated = clock_timestamp() WHERE state = 'running' AND ";

// Session lock held by the leading manager ("pulprm").
constexpr long long kManagerLockKey = 0x70756c70726d;

}  // namespace

std::string ManagerApplicationName(const std::string& name) {
  return "pulp-resource-manager " + name;
}

std::optional<ManagerLeader> CurrentLeader(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  pqxx::result r = tx.exec(
      "SELECT term, COALESCE(name, ''), COALESCE(grpc_address, ''),"
      " COALESCE(lease_until > clock_timestamp(), FALSE) FROM core_resourcemanager WHERE id = 1");
  if (r.empty() || r[0][2].as<std::string>().empty()) return std::nullopt;
  return ManagerLeader{r[0][0].as<uint64_t>(), r[0][1].as<std::string>(), r[0][2].as<std::string>(),
                       r[0][3].as<bool>()};
}

Election::Election(std::string connection_string, std::string name, std::string grpc_address,
                   int lease_seconds)
    : connection_string_(std::move(connection_string)),
      name_(std::move(name)),
      grpc_address_(std::move(grpc_address)),
      lease_seconds_(lease_seconds) {}

Election::~Election() = default;

bool Election::Connect() {
  if (conn_ && conn_->is_open()) return true;
  try {
    conn_ = std::make_unique<pqxx::connection>(connection_string_);
    return true;
  } catch (const std::exception& e) {
    conn_.reset();
    return false;
  }
}

std::optional<uint64_t> Election::TryLead() {
  if (!Connect()) return std::nullopt;
  try {
    pqxx::nontransaction tx(*conn_);
    if (!tx.exec1(absl::StrCat("SELECT pg_try_advisory_lock(", kManagerLockKey, ")"))[0]
             .as<bool>()) {
      // Led by someone. A leader that stopped renewing (stalled) is ended: every session of
      // it goes, with the lock and anything it held mid-transaction; the next try takes over.
      tx.exec(
          "SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN core_resourcemanager r"
          " ON r.id = 1 WHERE r.lease_until < clock_timestamp() AND a.pid <> pg_backend_pid() AND"
          " (a.pid = r.backend_pid OR a.application_name = 'pulp-resource-manager ' || r.name)");
      return std::nullopt;
    }
    pqxx::result r = tx.exec(
        absl::StrCat("UPDATE core_resourcemanager SET term = term + 1, name = ", tx.quote(name_),
                     ", grpc_address = ", tx.quote(grpc_address_),
                     ", backend_pid = pg_backend_pid(), lease_until = clock_timestamp() + interval "
                     "'1 second' * ",
                     lease_seconds_, " WHERE id = 1 RETURNING term"));
    term_ = r[0][0].as<uint64_t>();
    return term_;
  } catch (const std::exception& e) {
    std::cerr << "pulp-resource-manager: election: " << e.what() << std::endl;
    conn_.reset();
    return std::nullopt;
  }
}

bool Election::Renew() {
  if (!conn_ || term_ == 0) return false;
  try {
    pqxx::nontransaction tx(*conn_);
    return !tx.exec(absl::StrCat("UPDATE core_resourcemanager SET lease_until = clock_timestamp()"
                                 " + interval '1 second' * ",
                                 lease_seconds_, " WHERE id = 1 AND term = ", term_,
                                 " AND backend_pid = pg_backend_pid() RETURNING 1"))
                .empty();
  } catch (const std::exception&) {
    conn_.reset();
    return false;
  }
}

std::vector<Assigned> AssignReadyTasks(pqxx::connection& conn, uint64_t term,
                                       const std::vector<std::string>& idle_workers) {
  std::vector<Assigned> out;
  if (idle_workers.empty()) return out;
  pqxx::work tx(conn);
  // The same lock as distributed claims and the API's immediate tasks: one claimer at a time.
  tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock(", kClaimLockKey, ")"));
  // Fence: only the current leader assigns. Row lock held to commit, so a takeover (which
  // bumps the term) waits for this assignment to finish or sees it.
  if (tx.exec(absl::StrCat("SELECT 1 FROM core_resourcemanager WHERE id = 1 AND term = ", term,
                           " FOR SHARE"))
          .empty()) {
    return out;
  }
  // Tasks ready now cannot conflict with each other: of two conflicting waiting tasks the later
  // is blocked by the earlier (first come, first served).
  pqxx::result ready = tx.exec(absl::StrCat(
      "SELECT t.pulp_id::text, t.name, t.args::text, t.kwargs::text,"
      " t.logging_cid FROM core_task t WHERE ",
      ReadyCondition(), " ORDER BY t.pulp_created, t.pulp_id LIMIT ", idle_workers.size()));
  for (size_t i = 0; i < ready.size(); ++i) {
    const std::string task = ready[i][0].as<std::string>();
    tx.exec(absl::StrCat(
        "UPDATE core_task SET state = 'running', worker_id = ", tx.quote(idle_workers[i]),
        "::uuid, assigned_term = ", term,
        ", started_at = clock_timestamp(), unblocked_at = COALESCE(unblocked_at,"
        " clock_timestamp()), pulp_last_updated = clock_timestamp() WHERE pulp_id = ",
        tx.quote(task), "::uuid"));
    tx.exec(absl::StrCat("UPDATE core_appstatus SET current_task_id = ", tx.quote(task),
                         "::uuid WHERE pulp_id = ", tx.quote(idle_workers[i]), "::uuid"));
    out.push_back(
        {ClaimedTask{task, ready[i][1].as<std::string>(),
                     Json::parse(ready[i][2].as<std::string>()),
                     Json::parse(ready[i][3].as<std::string>()), ready[i][4].as<std::string>()},
         idle_workers[i]});
  }
  tx.commit();
  return out;
}

int RequeueUnstarted(pqxx::connection& conn, const std::string& worker_id,
                     const std::vector<std::string>& held_tasks) {
  pqxx::work tx(conn);
  std::vector<std::string> quoted;
  for (const auto& t : held_tasks) quoted.push_back(tx.quote(t) + "::uuid");
  const std::string keep =
      quoted.empty() ? "" : " AND pulp_id NOT IN (" + absl::StrJoin(quoted, ",") + ")";
  // A task canceled while it sat assigned but unstarted just ends canceled.
  tx.exec(absl::StrCat(
      "UPDATE core_task SET state = 'canceled', finished_at = clock_timestamp(),"
      " pulp_last_updated = clock_timestamp() WHERE state = 'canceling' AND worker_id = ",
      tx.quote(worker_id), "::uuid", keep));
  pqxx::result r = tx.exec(absl::StrCat(kBackInLine, "worker_id = ", tx.quote(worker_id), "::uuid",
                                        keep, " RETURNING 1"));
  tx.commit();
  return static_cast<int>(r.size());
}

void HandBackTask(pqxx::connection& conn, const std::string& worker_id, const std::string& task,
                  uint64_t term) {
  pqxx::work tx(conn);
  tx.exec(absl::StrCat(kBackInLine, "pulp_id = ", tx.quote(task), "::uuid AND worker_id = ",
                       tx.quote(worker_id), "::uuid AND assigned_term = ", term));
  tx.commit();
}

}  // namespace pulp::core::tasking
