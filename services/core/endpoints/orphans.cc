// /pulp/api/v3/orphans/cleanup/ (and the deprecated DELETE /orphans/): a task that deletes
// content in no repository version and artifacts in no content, older than the protection time.
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/openapi/schema.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

constexpr char kOrphanTask[] = "pulpcore.app.tasks.orphan.orphan_cleanup";

http::Response Cleanup(AppContext& app, http::Request& req, bool deprecated) {
  Json in = deprecated ? Json::object()
                       : http::ValidateFields(http::ReadRequestData(req),
                                              {{"content_hrefs", http::Field::kStringList},
                                               {"orphan_protection_time", http::Field::kInteger,
                                                false, true, false, 0, 4294967295LL}});
  Json content_pks = nullptr;
  if (in.contains("content_hrefs")) {
    if (in["content_hrefs"].empty()) throw http::FieldError("content_hrefs", "Must not be [].");
    content_pks = Json::array();
    for (const auto& href : in["content_hrefs"]) {
      const std::string h = href;
      std::string pk = absl::StartsWith(h, "prn:") ? h.substr(h.rfind(':') + 1) : "";
      if (pk.empty()) {
        std::string trimmed = absl::EndsWith(h, "/") ? h.substr(0, h.size() - 1) : h;
        pk = trimmed.substr(trimmed.rfind('/') + 1);
        if (!absl::StartsWith(h, app.ApiV3() + "content/")) pk.clear();
      }
      if (!IsUuid(pk)) throw http::FieldError("content_hrefs", absl::StrCat("URI not valid: ", h));
      content_pks.push_back(pk);
    }
  }
  tasking::DispatchRequest task = TaskFrom(req, kOrphanTask);
  task.kwargs = {{"content_pks", content_pks},
                 {"orphan_protection_time",
                  in.contains("orphan_protection_time") && !in["orphan_protection_time"].is_null()
                      ? in["orphan_protection_time"]
                      : Json(app.settings.orphan_protection_time)}};
  task.exclusive_resources = {absl::StrCat("pdrn:", app.default_domain_id, ":orphans")};
  return TaskAccepted(app, app.dispatcher->Dispatch(task));
}

Json RunCleanup(tasking::TaskContext& ctx, const Json& kwargs) {
  AppContext& app = ctx.app();
  const int64_t minutes = kwargs.value("orphan_protection_time", Json(1440)).get<int64_t>();
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
  std::vector<std::string> files;
  {
    pqxx::work tx(**lease);
    std::string only;
    if (kwargs.contains("content_pks") && kwargs["content_pks"].is_array()) {
      only = " AND c.pulp_id IN (";
      for (size_t i = 0; i < kwargs["content_pks"].size(); ++i) {
        only += (i ? "," : "") + tx.quote(kwargs["content_pks"][i].get<std::string>()) + "::uuid";
      }
      only += ")";
    }
    const std::string old = absl::StrCat("now() - interval '1 minute' * ", minutes);
    // Content is an orphan when no repository holds it: every type's membership table is
    // consulted through the view plugins keep current (empty until repositories exist).
    tx.exec(absl::StrCat(
        "DELETE FROM core_content c WHERE c.timestamp_of_interest < ", old, only,
        " AND NOT EXISTS (SELECT 1 FROM pulp_content_in_use u WHERE u.content_id = c.pulp_id)"));
    pqxx::result gone = tx.exec(absl::StrCat(
        "DELETE FROM core_artifact a WHERE a.timestamp_of_interest < ", old,
        " AND NOT EXISTS (SELECT 1 FROM pulp_artifact_in_use u WHERE u.artifact_id = a.pulp_id)"
        " RETURNING a.file"));
    for (const auto& row : gone) files.push_back(row[0].as<std::string>());
    tx.commit();
  }
  // Files go after the rows: a crash in between leaves an unreferenced file, never a row
  // pointing at nothing.
  for (const auto& f : files) (void)app.store->Remove(f);
  return Json(nullptr);
}

}  // namespace

void RegisterOrphanTask(tasking::TaskRegistry& registry) {
  registry.Register(kOrphanTask, [](tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
    return RunCleanup(ctx, kwargs);
  });
}

void RegisterOrphanRoutes(AppContext& app, http::Router& router) {
  app.schemas["OrphansCleanup"] = {
      {"type", "object"},
      {"properties",
       {{"content_hrefs",
         {{"type", "array"},
          {"items", {{"type", "string"}}},
          {"description",
           "Will delete specified content and associated Artifacts if they are orphans."}}},
        {"orphan_protection_time",
         {{"type", "integer"},
          {"format", "int64"},
          {"nullable", true},
          {"minimum", 0},
          {"maximum", 4294967295LL}}}}}};
  router.Add({"POST",
              app.ApiV3() + "orphans/cleanup/",
              "",
              {"orphans_cleanup_cleanup",
               "cleanup",
               "core",
               "Orphans: Cleanup",
               "Trigger an asynchronous orphan cleanup operation.",
               {},
               openapi::RequestBody("OrphansCleanup", openapi::kJsonAndForms, false),
               {{"202", openapi::AsyncResponse(app.schemas)}}},
              [&app](http::Request& r) { return Cleanup(app, r, false); }});
  router.Add(
      {"DELETE",
       app.ApiV3() + "orphans/",
       "",
       {"orphans_delete",
        "delete",
        "core",
        "Orphans",
        "DEPRECATED! Trigger an asynchronous task that deletes all orphaned content and artifacts.",
        {},
        nullptr,
        {{"202", openapi::AsyncResponse(app.schemas)}}},
       [&app](http::Request& r) { return Cleanup(app, r, true); }});
}

}  // namespace pulp::core::endpoints
