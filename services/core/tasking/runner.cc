#include "services/core/tasking/runner.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/sql.h"
#include "services/core/http/errors.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::core::tasking {
Json TaskOutcome::ToJson() const {
  return Json{{"ok", ok},
              {"result", result},
              {"error", error},
              {"created_hrefs", created_hrefs},
              {"created_prns", created_prns}};
}

TaskOutcome TaskOutcome::FromJson(const Json& j) {
  TaskOutcome o;
  o.ok = j.value("ok", false);
  o.result = j.value("result", Json(nullptr));
  o.error = j.value("error", Json(nullptr));
  o.created_hrefs = j.value("created_hrefs", std::vector<std::string>{});
  o.created_prns = j.value("created_prns", std::vector<std::string>{});
  return o;
}

TaskOutcome TaskOutcome::Failure(const std::string& description) {
  TaskOutcome o;
  o.error = Json{{"description", description}, {"traceback", ""}};
  return o;
}

TaskOutcome TaskOutcome::Reason(const std::string& reason) {
  TaskOutcome o;
  o.error = Json{{"reason", reason}};
  return o;
}

TaskOutcome ExecuteTask(AppContext& app, const ClaimedTask& task) {
  TaskContext ctx(app, task.pk);
  const TaskFunction* fn = app.task_registry->Find(task.name);
  if (fn == nullptr) return TaskOutcome::Failure("Unknown task " + task.name);
  TaskOutcome out;
  try {
    out.result = (*fn)(ctx, task.args, task.kwargs);
    out.ok = true;
  } catch (const http::ApiError& e) {
    // Validation inside a task fails the task with the serializer's message.
    out = TaskOutcome::Failure(DumpJson(e.body()));
  } catch (const std::exception& e) {
    out = TaskOutcome::Failure(e.what());
  }
  if (!out.ok) ctx.EndRunningProgress("failed");
  bool published = false;
  for (const auto& prn : ctx.created_prns()) {
    published = published || prn.find("publication:") != std::string::npos;
  }
  if (out.ok && (published || ctx.served_content_changed())) app.ServedContentChanged(task.name);
  out.created_hrefs = ctx.created_hrefs();
  out.created_prns = ctx.created_prns();
  return out;
}

bool RecordOutcome(pqxx::connection& conn, const std::string& task_pk, const TaskOutcome& outcome,
                   bool canceled, const std::string& worker_pk) {
  pqxx::work tx(conn);
  const std::string state = canceled ? "'canceled'" : outcome.ok ? "'completed'" : "'failed'";
  pqxx::result r = tx.exec(absl::StrCat(
      "UPDATE core_task SET state = CASE WHEN state = 'canceling' THEN 'canceled' ELSE ", state,
      " END, finished_at = clock_timestamp(), pulp_last_updated = clock_timestamp(), error = ",
      outcome.error.is_null() || canceled ? "NULL" : tx.quote(DumpJson(outcome.error)) + "::jsonb",
      ", result = ",
      outcome.result.is_null() ? "NULL" : tx.quote(DumpJson(outcome.result)) + "::jsonb",
      ", created_resources = ", db::TextArrayLiteral(tx, outcome.created_hrefs),
      ", created_resource_prns = ", db::TextArrayLiteral(tx, outcome.created_prns),
      " WHERE pulp_id = ", tx.quote(task_pk),
      " AND state IN ('running', 'canceling') RETURNING 1"));
  if (!worker_pk.empty()) {
    tx.exec("UPDATE core_appstatus SET current_task_id = NULL WHERE pulp_id = " +
            tx.quote(worker_pk));
  }
  tx.commit();
  return !r.empty();
}

}  // namespace pulp::core::tasking
