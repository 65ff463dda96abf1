// /pulp/api/v3/workers/: online and missing workers, from their heartbeat rows.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/openapi/schema.h"

namespace pulp::core::endpoints {
namespace {

http::ListSpec WorkerListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "AppStatus";
  spec.from = "core_appstatus t";
  spec.where = "t.app_type = 'worker'";
  spec.columns =
      absl::StrCat(kModelColumns,
                   ", t.name, pulp_iso(t.last_heartbeat) AS last_heartbeat,"
                   " t.versions::text AS versions, t.current_task_id::text AS current_task");
  spec.href_prefix = app.ApiV3() + "workers/";
  spec.prn_type = "core.appstatus";
  const std::string online =
      absl::StrCat("t.last_heartbeat >= now() - interval '1 second' * ", app.settings.worker_ttl);
  using F = http::FilterDef;
  spec.filters = {
      {"name", "t.name", F::kText, http::NameLookups()},
      {"last_heartbeat", "t.last_heartbeat", F::kDateTime, http::DateTimeLookups()},
      {"online", "(" + online + ")", F::kBool, {""}},
      {"missing", "(NOT " + online + ")", F::kBool, {""}},
  };
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"name", "t.name"},
                   {"last_heartbeat", "t.last_heartbeat"}};
  const std::string prefix = spec.href_prefix;
  const std::string tasks = app.ApiV3() + "tasks/";
  spec.serialize = [prefix, tasks](const pqxx::row& row) {
    Json j = ModelFields(row, prefix, "core.appstatus");
    j["name"] = row["name"].as<std::string>();
    j["last_heartbeat"] = row["last_heartbeat"].as<std::string>();
    j["versions"] = Json::parse(row["versions"].as<std::string>());
    j["current_task"] = row["current_task"].is_null()
                            ? Json(nullptr)
                            : Json(tasks + row["current_task"].as<std::string>() + "/");
    return j;
  };
  return spec;
}

}  // namespace

void RegisterWorkerRoutes(AppContext& app, http::Router& router) {
  const std::string list = app.ApiV3() + "workers/";
  Json props = openapi::ModelResponseProperties();
  props["name"] = {{"type", "string"}, {"readOnly", true}};
  props["last_heartbeat"] = {{"type", "string"}, {"format", "date-time"}, {"readOnly", true}};
  props["versions"] = {
      {"type", "object"}, {"additionalProperties", {{"type", "string"}}}, {"readOnly", true}};
  props["current_task"] = {
      {"type", "string"}, {"format", "uri"}, {"readOnly", true}, {"nullable", true}};
  app.schemas["WorkerResponse"] = {{"type", "object"}, {"properties", props}};
  auto spec = std::make_shared<http::ListSpec>(WorkerListSpec(app));
  const ResourceDoc doc{"workers", "core", "Workers", "worker", "worker_href", "WorkerResponse"};
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
}

}  // namespace pulp::core::endpoints
