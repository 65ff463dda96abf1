// /pulp/api/v3/task-groups/: groups of tasks (ACS refresh dispatches them), with counts per state.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/claim.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

const char* const kStates[] = {"waiting",  "skipped", "running",  "completed",
                               "canceled", "failed",  "canceling"};

http::ListSpec TaskGroupListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "TaskGroup";
  spec.from = "core_taskgroup t";
  std::string counts;
  for (const char* s : kStates) {
    absl::StrAppend(&counts,
                    ", (SELECT count(*) FROM core_task k WHERE k.task_group_id = t.pulp_id"
                    " AND k.state = '",
                    s, "') AS ", s);
  }
  spec.columns = absl::StrCat(
      kModelColumns, ", t.description, t.all_tasks_dispatched", counts,
      ", COALESCE((SELECT json_agg(json_build_object('pulp_href', k.pulp_id::text, 'name', k.name,"
      " 'state', k.state, 'pulp_created', pulp_iso(k.pulp_created), 'started_at',"
      " pulp_iso(k.started_at), 'finished_at', pulp_iso(k.finished_at)) ORDER BY k.pulp_created)"
      " FROM core_task k WHERE k.task_group_id = t.pulp_id), '[]')::text AS tasks");
  spec.href_prefix = app.ApiV3() + "task-groups/";
  spec.prn_type = "core.taskgroup";
  spec.ignore_unknown_params = true;  // upstream's task-groups view has no filterset
  const std::string prefix = spec.href_prefix;
  const std::string tasks_prefix = app.ApiV3() + "tasks/";
  spec.serialize = [prefix, tasks_prefix](const pqxx::row& row) {
    Json full = ModelFields(row, prefix, "core.taskgroup");
    Json j;
    j["pulp_href"] = full["pulp_href"];
    j["prn"] = full["prn"];
    j["description"] = row["description"].as<std::string>();
    j["all_tasks_dispatched"] = row["all_tasks_dispatched"].as<bool>();
    for (const char* s : kStates) j[s] = row[s].as<int64_t>();
    j["group_progress_reports"] = Json::array();
    Json tasks = Json::parse(row["tasks"].as<std::string>());
    for (auto& t : tasks) {
      t["pulp_href"] = tasks_prefix + t["pulp_href"].get<std::string>() + "/";
      t["worker"] = nullptr;
    }
    j["tasks"] = tasks;
    return j;
  };
  return spec;
}

http::Response Cancel(AppContext& app, http::Request& req, const http::ListSpec& spec) {
  Json in =
      http::ValidateFields(http::ReadRequestData(req), {{"state", http::Field::kString, true}});
  if (in["state"] != "canceled") {
    throw http::FieldError("state", "The only acceptable value for 'state' is 'canceled'.");
  }
  const std::string pk = req.path_params["pulp_id"];
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  if (tx.exec("SELECT 1 FROM core_taskgroup WHERE pulp_id = " + tx.quote(pk) + "::uuid FOR UPDATE")
          .empty()) {
    throw http::NotFoundError("TaskGroup");
  }
  pqxx::result waiting = tx.exec(
      "UPDATE core_task SET state = 'canceled', finished_at = clock_timestamp(), pulp_last_updated "
      "="
      " clock_timestamp() WHERE task_group_id = " +
      tx.quote(pk) + " AND state = 'waiting' RETURNING 1");
  pqxx::result running = tx.exec(
      "UPDATE core_task SET state = 'canceling', pulp_last_updated = clock_timestamp()"
      " WHERE task_group_id = " +
      tx.quote(pk) + " AND state = 'running' RETURNING pulp_id::text, worker_id::text");
  if (waiting.empty() && running.empty()) {
    return http::Response::Json(409, *http::FetchOne(spec, tx, pk));
  }
  for (const auto& r : running) {
    if (r[1].is_null()) continue;
    tx.exec("SELECT pg_notify(" + tx.quote(tasking::WorkerChannel(r[1].as<std::string>())) + ", " +
            tx.quote("cancel:" + r[0].as<std::string>()) + ")");
  }
  tasking::WakeOneIdleWorker(tx, app.settings.worker_ttl);
  Json obj = *http::FetchOne(spec, tx, pk);
  tx.commit();
  return http::Response::Json(200, obj);
}

}  // namespace

void RegisterTaskGroupRoutes(AppContext& app, http::Router& router) {
  const std::string list = app.ApiV3() + "task-groups/";
  const std::string detail = list + "{pulp_id}/";
  Json props = {
      {"pulp_href", {{"type", "string"}, {"format", "uri"}, {"readOnly", true}}},
      {"prn", {{"type", "string"}, {"readOnly", true}}},
      {"description", {{"type", "string"}}},
      {"all_tasks_dispatched", {{"type", "boolean"}}},
      {"group_progress_reports",
       {{"type", "array"}, {"items", {{"type", "object"}}}, {"readOnly", true}}},
      {"tasks", {{"type", "array"}, {"items", {{"type", "object"}}}, {"readOnly", true}}}};
  for (const char* s : kStates) props[s] = {{"type", "integer"}, {"readOnly", true}};
  app.schemas["TaskGroupResponse"] = {{"type", "object"}, {"properties", props}};
  app.schemas["PatchedTaskGroupCancel"] = {{"type", "object"},
                                           {"properties", {{"state", {{"type", "string"}}}}}};
  auto spec = std::make_shared<http::ListSpec>(TaskGroupListSpec(app));
  router.Add({"GET",
              list,
              "",
              {"task_groups_list",
               "list",
               "core",
               "Task-Groups",
               "List task groups",
               {{"limit", "query", {{"type", "integer"}}, false, ""},
                {"offset", "query", {{"type", "integer"}}, false, ""}},
               nullptr,
               {{"200", openapi::PaginatedResponse(app.schemas, "TaskGroupResponse")}}},
              [&app, spec](http::Request& r) { return http::ListResource(*spec, r, *app.pool); }});
  AddReadRoute(
      app, router, spec,
      {"task_groups", "core", "Task-Groups", "task group", "task_group_href", "TaskGroupResponse"});
  router.Add({"PATCH",
              detail,
              "task_group_href",
              {"task_groups_cancel",
               "",
               "core",
               "Task-Groups",
               "Cancel a task group",
               {},
               openapi::RequestBody("PatchedTaskGroupCancel", openapi::kJsonAndForms),
               {{"200", openapi::JsonResponse("", openapi::Ref("TaskGroupResponse"))},
                {"409", openapi::JsonResponse("", openapi::Ref("TaskGroupResponse"))}}},
              [&app, spec](http::Request& r) { return Cancel(app, r, *spec); }});
}

}  // namespace pulp::core::endpoints
