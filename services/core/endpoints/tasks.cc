// /pulp/api/v3/tasks/: list with upstream's filters, read, cancel, delete.
#include "services/core/endpoints/tasks.h"

#include <fcntl.h>
#include <unistd.h>

#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/claim.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

const std::vector<std::string> kStates = {"waiting", "skipped",  "running",  "completed",
                                          "failed",  "canceled", "canceling"};

Json TextArray(const pqxx::field& f) {
  Json out = Json::array();
  auto parser = f.as_array();
  for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
       item = parser.get_next()) {
    if (item.first == pqxx::array_parser::string_value) out.push_back(item.second);
  }
  return out;
}

Json JsonOrNull(const pqxx::field& f) {
  if (f.is_null()) return nullptr;
  return Json::parse(f.as<std::string>());
}

// A resource filter value is a PRN, or an href under the API root turned into its PRN.
std::string ResourceValue(const AppContext& app, const std::string& v) {
  if (absl::StartsWith(v, app.ApiV3())) {
    // /pulp/api/v3/<...>/<uuid>/: the type is not known here; match any PRN with that pk.
    std::string trimmed = v.substr(0, v.size() - (absl::EndsWith(v, "/") ? 1 : 0));
    return trimmed.substr(trimmed.rfind('/') + 1);
  }
  return v;
}

std::string ResourceCondition(const AppContext& app, pqxx::transaction_base& tx,
                              const std::string& which, const std::vector<std::string>& values) {
  std::vector<std::string> conds;
  for (const auto& raw : values) {
    const std::string v = ResourceValue(app, raw);
    const bool by_pk = IsUuid(v);
    auto match = [&](const std::string& prefix) {
      return by_pk ? absl::StrCat(
                         "EXISTS (SELECT 1 FROM unnest(t.reserved_resources_record) r"
                         " WHERE r LIKE ",
                         tx.quote(prefix + "%:" + v), ")")
                   : absl::StrCat(tx.quote(prefix + v), " = ANY(t.reserved_resources_record)");
    };
    if (which == "exclusive") {
      conds.push_back(match(""));
    } else if (which == "shared") {
      conds.push_back(match("shared:"));
    } else {
      conds.push_back(absl::StrCat("(", match(""), " OR ", match("shared:"), ")"));
    }
  }
  if (conds.empty()) return "TRUE";
  return absl::StrCat("(", absl::StrJoin(conds, " OR "), ")");
}

http::Response Cancel(AppContext& app, http::Request& req, const http::ListSpec& spec) {
  const std::string pk = req.path_params["pulp_id"];
  Json in =
      http::ValidateFields(http::ReadRequestData(req), {{"state", http::Field::kString, true}});
  if (in["state"] != "canceled") {
    throw http::FieldError("state", "The only acceptable value for 'state' is 'canceled'.");
  }
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  pqxx::result r = tx.exec(
      absl::StrCat("SELECT t.state, t.worker_id::text, w.grpc_address FROM core_task t LEFT JOIN"
                   " core_appstatus w ON w.pulp_id = t.worker_id WHERE t.pulp_id = ",
                   tx.quote(pk), "::uuid FOR UPDATE OF t"));
  if (r.empty()) throw http::NotFoundError("Task");
  const std::string state = r[0][0].as<std::string>();
  if (state == "completed" || state == "failed" || state == "skipped") {
    return http::Response::Json(409, *http::FetchOne(spec, tx, pk));
  }
  if (state == "waiting") {
    // Nobody runs it yet: it ends here, and whatever queued behind it may start.
    tx.exec(
        absl::StrCat("UPDATE core_task SET state = 'canceled', finished_at = clock_timestamp(),"
                     " pulp_last_updated = clock_timestamp() WHERE pulp_id = ",
                     tx.quote(pk)));
    tasking::WakeOneIdleWorker(tx, app.settings.worker_ttl);
  } else if (state == "running") {
    tx.exec(
        absl::StrCat("UPDATE core_task SET state = 'canceling', pulp_last_updated ="
                     " clock_timestamp() WHERE pulp_id = ",
                     tx.quote(pk)));
    // The worker running it kills the task's process the moment this commits.
    if (!r[0][1].is_null()) {
      tx.exec("SELECT pg_notify(" + tx.quote(tasking::WorkerChannel(r[0][1].as<std::string>())) +
              ", " + tx.quote("cancel:" + pk) + ")");
    }
  }
  Json obj = *http::FetchOne(spec, tx, pk);
  tx.commit();
  if (state == "waiting") app.TaskQueueChanged(pk);
  // The worker kills the task process now; the NOTIFY above is the fallback.
  if (state == "running" && !r[0][2].is_null() && app.cancel_on_worker) {
    app.cancel_on_worker(r[0][2].as<std::string>(), pk);
  }
  return http::Response::Json(200, obj);
}

http::Response DeleteTask(AppContext& app, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  pqxx::result r = tx.exec(absl::StrCat(
      "SELECT state FROM core_task WHERE pulp_id = ", tx.quote(pk), "::uuid FOR UPDATE"));
  if (r.empty()) throw http::NotFoundError("Task");
  const std::string state = r[0][0].as<std::string>();
  if (state == "waiting" || state == "running" || state == "canceling") {
    return http::Response::Empty(409);
  }
  tx.exec(absl::StrCat("DELETE FROM core_task WHERE pulp_id = ", tx.quote(pk)));
  tx.commit();
  return http::Response::Empty(204);
}

constexpr char kPurgeTask[] = "pulpcore.app.tasks.purge.purge";
constexpr char kSleepTask[] = "pulpcore.app.tasks.test.sleep";

http::Response Purge(AppContext& app, http::Request& req) {
  Json in = http::ValidateFields(
      http::ReadRequestData(req),
      {{"finished_before", http::Field::kString}, {"states", http::Field::kStringList}});
  std::string before;
  if (in.contains("finished_before")) {
    before = http::ParseDateTime(in["finished_before"]);
    if (before.empty()) throw http::FieldError("finished_before", "Datetime has wrong format.");
  }
  Json states = in.value("states", Json::array({"completed"}));
  for (const auto& st : states) {
    if (st != "completed" && st != "failed" && st != "canceled" && st != "skipped") {
      throw http::FieldError(
          "states", absl::StrCat("\"", st.get<std::string>(), "\" is not a valid choice."));
    }
  }
  tasking::DispatchRequest task = TaskFrom(req, kPurgeTask);
  task.kwargs = {{"finished_before", before.empty() ? Json(nullptr) : Json(before)},
                 {"states", states}};
  return TaskAccepted(app, app.dispatcher->Dispatch(task));
}

// Only with TASK_TEST_ENDPOINTS: a task that sleeps (or fails) on chosen resources, so tests and
// benchmarks can exercise tasking without content.
http::Response TestTask(AppContext& app, http::Request& req) {
  if (!app.settings.task_test_endpoints) throw http::DetailError(404, "Not found.");
  Json in = http::ValidateFields(http::ReadRequestData(req),
                                 {{"seconds", http::Field::kAny},
                                  {"fail", http::Field::kBoolean},
                                  {"record_to", http::Field::kString},
                                  {"task_group", http::Field::kString},
                                  {"immediate", http::Field::kBoolean},
                                  {"exclusive_resources", http::Field::kStringList},
                                  {"shared_resources", http::Field::kStringList}});
  tasking::DispatchRequest task = TaskFrom(req, kSleepTask);
  task.kwargs = {{"seconds", in.value("seconds", Json(0))},
                 {"fail", in.value("fail", false)},
                 {"record_to", in.value("record_to", "")}};
  task.immediate = in.value("immediate", false);
  task.task_group = in.value("task_group", "");
  // The run log is for tests: only a file directly in the system temp folder.
  const std::string record_to = in.value("record_to", "");
  if (!record_to.empty() &&
      (record_to.rfind("/tmp/", 0) != 0 || record_to.find('/', 5) != std::string::npos ||
       record_to.find("..") != std::string::npos)) {
    throw http::FieldError("record_to", "Must be a file directly under /tmp.");
  }
  if (!task.task_group.empty() && !IsUuid(task.task_group)) {
    throw http::FieldError("task_group", "Must be a valid UUID.");
  }
  task.exclusive_resources = in.value("exclusive_resources", std::vector<std::string>{});
  task.shared_resources = in.value("shared_resources", std::vector<std::string>{});
  return TaskAccepted(app, app.dispatcher->Dispatch(task));
}

}  // namespace

void RegisterTaskFunctions(tasking::TaskRegistry& registry) {
  registry.Register(kPurgeTask, [](tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
    auto lease = ctx.app().pool->Acquire();
    if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
    pqxx::work tx(**lease);
    std::vector<std::string> states;
    for (const auto& s : kwargs.value("states", Json::array({"completed"}))) states.push_back(s);
    std::string in = "(";
    for (size_t i = 0; i < states.size(); ++i) in += (i ? "," : "") + tx.quote(states[i]);
    in += ")";
    const Json before = kwargs.value("finished_before", Json(nullptr));
    pqxx::result r = tx.exec(
        absl::StrCat("DELETE FROM core_task WHERE state IN ", in, " AND finished_at < ",
                     before.is_null() ? "now() - interval '30 days'"
                                      : tx.quote(before.get<std::string>()) + "::timestamptz",
                     " AND pulp_id <> ", tx.quote(ctx.task_id()), " RETURNING 1"));
    tx.commit();
    return Json(nullptr);
  });
  registry.Register(kSleepTask, [](tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
    // Each run appends its task id to `record_to`, so tests can count executions.
    if (const std::string path = kwargs.value("record_to", ""); !path.empty()) {
      const std::string line = ctx.task_id() + "\n";
      int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
      if (fd >= 0) {
        (void)!::write(fd, line.data(), line.size());
        ::close(fd);
      }
    }
    double seconds =
        kwargs.value("seconds", Json(0)).is_number() ? kwargs["seconds"].get<double>() : 0;
    if (seconds > 0) usleep(static_cast<useconds_t>(seconds * 1e6));
    if (kwargs.value("fail", false)) throw std::runtime_error("The test task failed as asked.");
    return Json(nullptr);
  });
}

http::ListSpec TaskListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "Task";
  spec.from = "core_task t";
  spec.columns = absl::StrCat(
      kModelColumns,
      ", t.state, t.name, t.logging_cid, t.created_by_id, pulp_iso(t.unblocked_at) AS unblocked_at,"
      " pulp_iso(t.started_at) AS started_at, pulp_iso(t.finished_at) AS finished_at, t.error,"
      " t.parent_task_id::text AS parent_task_id, t.task_group_id::text AS task_group_id,"
      " t.progress_reports, t.created_resources, t.created_resource_prns,"
      " t.reserved_resources_record, t.result,"
      " ARRAY(SELECT c.pulp_id::text FROM core_task c WHERE c.parent_task_id = t.pulp_id"
      " ORDER BY c.pulp_created) AS child_tasks");
  spec.href_prefix = app.ApiV3() + "tasks/";
  spec.prn_type = "core.task";
  using F = http::FilterDef;
  spec.filters = {
      {"state", "t.state", F::kChoice, {"", "in", "ne"}, kStates},
      {"name", "t.name", F::kText, {"", "contains", "in", "ne"}},
      {"logging_cid", "t.logging_cid", F::kText, {"", "contains"}},
      {"pulp_created", "t.pulp_created", F::kDateTime, http::DateTimeLookups()},
      {"started_at", "t.started_at", F::kDateTime, http::DateTimeLookups()},
      {"finished_at", "t.finished_at", F::kDateTime, http::DateTimeLookups()},
      {"unblocked_at", "t.unblocked_at", F::kDateTime, http::DateTimeLookups()},
  };
  const std::string prefix = spec.href_prefix;
  auto href_filter = [&app](const char* name, const char* column, const std::string& list_prefix) {
    return F{name,
             column,
             F::kCustom,
             {""},
             {},
             [list_prefix, name, column](const std::string& v, pqxx::transaction_base& tx) {
               std::string pk = absl::StartsWith(v, "prn:") ? v.substr(v.rfind(':') + 1)
                                                            : http::PkFromHref(v, list_prefix);
               if (!IsUuid(pk)) throw http::FieldError(name, "Invalid hyperlink - No URL match.");
               return absl::StrCat(column, " = ", tx.quote(pk), "::uuid");
             }};
  };
  spec.filters.push_back(href_filter("parent_task", "t.parent_task_id", prefix));
  spec.filters.push_back(
      href_filter("task_group", "t.task_group_id", app.ApiV3() + "task-groups/"));
  spec.filters.push_back(
      {"child_tasks",
       "",
       F::kCustom,
       {""},
       {},
       [prefix](const std::string& v, pqxx::transaction_base& tx) {
         std::string pk =
             absl::StartsWith(v, "prn:") ? v.substr(v.rfind(':') + 1) : http::PkFromHref(v, prefix);
         if (!IsUuid(pk))
           throw http::FieldError("child_tasks", "Invalid hyperlink - No URL match.");
         return absl::StrCat("t.pulp_id = (SELECT parent_task_id FROM core_task WHERE pulp_id = ",
                             tx.quote(pk), "::uuid)");
       }});
  spec.filters.push_back({"created_resources",
                          "",
                          F::kCustom,
                          {""},
                          {},
                          [](const std::string& v, pqxx::transaction_base& tx) {
                            return absl::StrCat("(", tx.quote(v), " = ANY(t.created_resources) OR ",
                                                tx.quote(v), " = ANY(t.created_resource_prns))");
                          }});
  const AppContext* appp = &app;
  for (const char* which : {"reserved", "exclusive", "shared"}) {
    const std::string base = absl::StrCat(which, "_resources");
    for (const char* lookup : {"", "in"}) {
      const std::string kind = which;
      const bool is_in = std::string(lookup) == "in";
      spec.filters.push_back(
          {base,
           "",
           F::kCustom,
           {lookup},
           {},
           [appp, kind, is_in](const std::string& v, pqxx::transaction_base& tx) {
             std::vector<std::string> values;
             if (is_in) {
               for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) {
                 values.emplace_back(p);
               }
             } else {
               values.push_back(v);
             }
             return ResourceCondition(*appp, tx, kind, values);
           }});
    }
  }
  spec.filters.push_back(
      {"worker", "", F::kCustom, {""}, {}, [](const std::string&, pqxx::transaction_base&) {
         return std::string("FALSE");  // `worker` is always null upstream
       }});
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"state", "t.state"},
                   {"name", "t.name"},
                   {"started_at", "t.started_at"},
                   {"finished_at", "t.finished_at"},
                   {"unblocked_at", "t.unblocked_at"},
                   {"logging_cid", "t.logging_cid"}};
  spec.minimal_fields = {"pulp_href",        "prn",         "pulp_created", "pulp_last_updated",
                         "pulp_api_version", "name",        "state",        "unblocked_at",
                         "started_at",       "finished_at", "worker"};
  const std::string api = app.ApiV3();
  spec.serialize = [prefix, api](const pqxx::row& row) {
    Json j = ModelFields(row, prefix, "core.task");
    j["state"] = row["state"].as<std::string>();
    j["name"] = row["name"].as<std::string>();
    j["logging_cid"] = row["logging_cid"].as<std::string>();
    j["created_by"] =
        row["created_by_id"].is_null()
            ? Json(nullptr)
            : Json(absl::StrCat(api, "users/", row["created_by_id"].as<int64_t>(), "/"));
    j["unblocked_at"] = TextOrNull(row, "unblocked_at");
    j["started_at"] = TextOrNull(row, "started_at");
    j["finished_at"] = TextOrNull(row, "finished_at");
    j["error"] = JsonOrNull(row["error"]);
    j["worker"] = nullptr;
    j["parent_task"] = row["parent_task_id"].is_null()
                           ? Json(nullptr)
                           : Json(prefix + row["parent_task_id"].as<std::string>() + "/");
    Json children = Json::array();
    for (const auto& c : TextArray(row["child_tasks"]))
      children.push_back(prefix + c.get<std::string>() + "/");
    j["child_tasks"] = children;
    j["task_group"] =
        row["task_group_id"].is_null()
            ? Json(nullptr)
            : Json(api + "task-groups/" + row["task_group_id"].as<std::string>() + "/");
    j["progress_reports"] = JsonOrNull(row["progress_reports"]);
    j["created_resources"] = TextArray(row["created_resources"]);
    j["created_resource_prns"] = TextArray(row["created_resource_prns"]);
    j["reserved_resources_record"] = TextArray(row["reserved_resources_record"]);
    j["result"] = JsonOrNull(row["result"]);
    j["pulp_api_version"] = "v3";
    return j;
  };
  return spec;
}

void RegisterTaskRoutes(AppContext& app, http::Router& router) {
  const std::string list = app.ApiV3() + "tasks/";
  const std::string detail = list + "{pulp_id}/";
  Json props = openapi::ModelResponseProperties();
  for (const char* k : {"state", "name", "logging_cid", "created_by", "unblocked_at", "started_at",
                        "finished_at", "worker", "parent_task", "task_group", "pulp_api_version"}) {
    props[k] = {{"type", "string"}, {"readOnly", true}};
  }
  for (const char* k : {"unblocked_at", "started_at", "finished_at"}) {
    props[k]["format"] = "date-time";
    props[k]["nullable"] = true;
  }
  for (const char* k : {"created_by", "worker", "parent_task", "task_group"}) {
    props[k]["nullable"] = true;
    props[k]["format"] = "uri";
  }
  props["error"] = {{"type", "object"}, {"nullable", true}, {"readOnly", true}};
  props["result"] = {{"type", "object"}, {"nullable", true}, {"readOnly", true}};
  props["child_tasks"] = {
      {"type", "array"}, {"items", {{"type", "string"}, {"format", "uri"}}}, {"readOnly", true}};
  props["progress_reports"] = {
      {"type", "array"}, {"items", {{"type", "object"}}}, {"readOnly", true}};
  for (const char* k :
       {"created_resources", "created_resource_prns", "reserved_resources_record"}) {
    props[k] = {{"type", "array"}, {"items", {{"type", "string"}}}, {"readOnly", true}};
  }
  app.schemas["TaskResponse"] = {{"type", "object"}, {"properties", props}, {"required", {"name"}}};
  app.schemas["Purge"] = {
      {"type", "object"},
      {"properties",
       {{"finished_before", {{"type", "string"}, {"format", "date-time"}}},
        {"states",
         {{"type", "array"},
          {"items",
           {{"type", "string"}, {"enum", {"skipped", "completed", "failed", "canceled"}}}}}}}}};
  app.schemas["PatchedTaskCancel"] = {
      {"type", "object"},
      {"properties",
       {{"state",
         {{"type", "string"},
          {"description", "The desired state of the task. Only 'canceled' is accepted."}}}}}};

  auto spec = std::make_shared<http::ListSpec>(TaskListSpec(app));
  const ResourceDoc doc{"tasks", "core", "Tasks", "task", "task_href", "TaskResponse"};
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
  router.Add({"PATCH",
              detail,
              "task_href",
              {"tasks_cancel",
               "",
               "core",
               "Tasks",
               "Cancel a task",
               {},
               openapi::RequestBody("PatchedTaskCancel", openapi::kJsonAndForms),
               {{"200", openapi::JsonResponse("", openapi::Ref("TaskResponse"))},
                {"409", openapi::JsonResponse("", openapi::Ref("TaskResponse"))}}},
              [&app, spec](http::Request& r) { return Cancel(app, r, *spec); }});
  router.Add({"POST",
              list + "purge/",
              "",
              {"tasks_purge",
               "",
               "core",
               "Tasks",
               "Purge completed tasks",
               {},
               openapi::RequestBody("Purge", openapi::kJsonAndForms, false),
               {{"202", openapi::AsyncResponse(app.schemas)}}},
              [&app](http::Request& r) { return Purge(app, r); }});
  router.Add({"POST",
              list + "test/",
              "",
              {"tasks_test",
               "test",
               "core",
               "Tasks",
               "Test task (TASK_TEST_ENDPOINTS only)",
               {},
               nullptr,
               {{"202", openapi::AsyncResponse(app.schemas)}}},
              [&app](http::Request& r) { return TestTask(app, r); },
              false});
  router.Add({"DELETE",
              detail,
              "task_href",
              {"tasks_delete",
               "delete",
               "core",
               "Tasks",
               "Delete a task",
               {},
               nullptr,
               {{"204", openapi::EmptyResponse("No response body")}}},
              [&app](http::Request& r) { return DeleteTask(app, r); }});
}

}  // namespace pulp::core::endpoints
