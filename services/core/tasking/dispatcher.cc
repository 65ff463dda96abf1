#include "services/core/tasking/dispatcher.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/db/sql.h"
#include "services/core/http/errors.h"
#include "services/core/tasking/claim.h"
#include "services/core/tasking/runner.h"
#include "services/core/util/uuid.h"

namespace pulp::core::tasking {
namespace {

void CheckResourceName(const std::string& name) {
  if (name.empty() || name.size() > 1024) {
    throw http::BareValidationError("A task resource name must have 1 to 1024 characters.");
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      throw http::BareValidationError("A task resource name must not contain control characters.");
    }
  }
}

}  // namespace

std::string TaskHref(const AppContext& app, const std::string& pk) {
  return absl::StrCat(app.ApiV3(), "tasks/", pk, "/");
}

std::string Dispatcher::Dispatch(const DispatchRequest& request) {
  std::vector<std::string> exclusive = request.exclusive_resources;
  std::vector<std::string> shared = request.shared_resources;
  shared.push_back(app_.DomainPrn());
  for (const auto& r : exclusive) CheckResourceName(r);
  for (const auto& r : shared) CheckResourceName(r);
  std::vector<std::string> record = exclusive;
  for (const auto& s : shared) record.push_back("shared:" + s);

  const std::string pk = NewUuid();
  auto lease = app_.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  {
    pqxx::work tx(**lease);
    // Shared with every dispatcher, exclusive with claimers: a worker that just found the
    // queue empty has either marked itself idle (and is woken below) or will see this task.
    tx.exec(absl::StrCat("SELECT pg_advisory_xact_lock_shared(", kClaimLockKey, ")"));
    tx.exec(absl::StrCat(
        "INSERT INTO core_task (pulp_id, pulp_domain_id, state, name, logging_cid, created_by_id,"
        " args, kwargs, reserved_resources_record, exclusive_resources, shared_resources,"
        " immediate, deferred, task_group_id) VALUES (",
        tx.quote(pk), ", ", tx.quote(app_.default_domain_id), ", 'waiting', ",
        tx.quote(request.name), ", ", tx.quote(request.logging_cid), ", ",
        request.created_by ? absl::StrCat(*request.created_by) : "NULL", ", ",
        tx.quote(DumpJson(request.args)), "::jsonb, ", tx.quote(DumpJson(request.kwargs)),
        "::jsonb, ", db::TextArrayLiteral(tx, record), ", ", db::TextArrayLiteral(tx, exclusive),
        ", ", db::TextArrayLiteral(tx, shared), ", ", request.immediate ? "TRUE" : "FALSE",
        ", TRUE, ", request.task_group.empty() ? "NULL" : tx.quote(request.task_group) + "::uuid",
        ")"));
    if (!request.immediate) WakeOneIdleWorker(tx, app_.settings.worker_ttl);
    tx.commit();
  }
  if (!request.immediate) {
    app_.TaskQueueChanged(pk);
    return pk;
  }

  auto claimed = ClaimTask(**lease, "", pk, app_.settings.worker_ttl);
  if (!claimed) {
    // Busy resources: the task waits for a worker like any deferred one.
    pqxx::work tx(**lease);
    WakeOneIdleWorker(tx, app_.settings.worker_ttl);
    tx.commit();
    app_.TaskQueueChanged(pk);
    return pk;
  }
  TaskOutcome outcome = ExecuteTask(app_, *claimed);
  RecordOutcome(**lease, pk, outcome);
  pqxx::work tx(**lease);
  WakeOneIdleWorker(tx, app_.settings.worker_ttl);  // its resources are free again
  tx.commit();
  app_.TaskQueueChanged(pk);
  return pk;
}

}  // namespace pulp::core::tasking
