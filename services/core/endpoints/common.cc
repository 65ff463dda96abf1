#include "services/core/endpoints/common.h"

#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "services/core/db/pool.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::core::endpoints {

Json ModelFields(const pqxx::row& row, const std::string& href_prefix,
                 const std::string& prn_type) {
  const std::string pk = row["pulp_id"].as<std::string>();
  Json j;
  j["pulp_href"] = absl::StrCat(href_prefix, pk, "/");
  j["prn"] = absl::StrCat("prn:", prn_type, ":", pk);
  j["pulp_created"] = row["pulp_created"].as<std::string>();
  j["pulp_last_updated"] = row["pulp_last_updated"].as<std::string>();
  return j;
}

Json TextOrNull(const pqxx::row& row, const char* column) {
  const auto& f = row[column];
  return f.is_null() ? Json(nullptr) : Json(f.as<std::string>());
}

http::Response TaskAccepted(const AppContext& app, const std::string& task_pk) {
  return http::Response::Json(202, Json{{"task", tasking::TaskHref(app, task_pk)}});
}

tasking::DispatchRequest TaskFrom(const http::Request& request, std::string name) {
  tasking::DispatchRequest task;
  task.name = std::move(name);
  task.logging_cid = request.correlation_id;
  task.created_by = RequesterId(request);
  return task;
}

tasking::DispatchRequest GeneralUpdateTask(const http::Request& request, const std::string& pk,
                                           const std::string& app_label,
                                           const std::string& serializer, const std::string& prn,
                                           const Json& data, bool partial) {
  tasking::DispatchRequest task = TaskFrom(request, tasking::kGeneralUpdate);
  task.args = Json::array({pk, app_label, serializer});
  task.kwargs = {{"data", data}, {"partial", partial}};
  task.exclusive_resources = {prn};
  task.immediate = true;
  return task;
}

tasking::DispatchRequest GeneralDeleteTask(const http::Request& request, const std::string& pk,
                                           const std::string& app_label,
                                           const std::string& serializer, const std::string& prn) {
  tasking::DispatchRequest task = TaskFrom(request, tasking::kGeneralDelete);
  task.args = Json::array({pk, app_label, serializer});
  task.exclusive_resources = {prn};
  return task;
}

http::Response Created(const Json& object) {
  auto r = http::Response::Json(201, object);
  if (object.contains("pulp_href")) r.SetHeader("Location", object["pulp_href"].get<std::string>());
  return r;
}

std::optional<int64_t> RequesterId(const http::Request& request) {
  if (!request.user) return std::nullopt;
  return request.user->id;
}

std::function<Json(tasking::TaskContext&, const Json&, const Json&)> DeleteRowTask(
    std::string table) {
  return [table](tasking::TaskContext& ctx, const Json& args, const Json&) {
    auto lease = ctx.app().pool->Acquire();
    if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
    pqxx::work tx(**lease);
    tx.exec("DELETE FROM " + table + " WHERE pulp_id = " + tx.quote(args[0].get<std::string>()) +
            "::uuid");
    tx.commit();
    // Deleting a distribution, or what one serves (a repository and its publications), changes
    // what the content apps answer.
    ctx.MarkServedContentChanged();
    return Json(nullptr);
  };
}

http::Operation NewOperation(const ResourceDoc& doc, const std::string& action,
                             const std::string& summary) {
  http::Operation op;
  op.operation_id = doc.id_prefix + "_" + action;
  op.action = action;
  op.component = doc.component;
  op.tag = doc.tag;
  op.summary = summary;
  return op;
}

void AddListRoute(AppContext& app, http::Router& router, std::shared_ptr<const http::ListSpec> spec,
                  const ResourceDoc& doc) {
  const bool y = !doc.noun.empty() && doc.noun.back() == 'y';
  http::Operation op = NewOperation(
      doc, "list",
      "List " + (y ? doc.noun.substr(0, doc.noun.size() - 1) + "ies" : doc.noun + "s"));
  op.parameters = http::ListParameters(*spec);
  op.responses = {{"200", openapi::PaginatedResponse(app.schemas, doc.response_schema)}};
  router.Add({"GET", spec->href_prefix, "", std::move(op),
              [&app, spec](http::Request& r) { return http::ListResource(*spec, r, *app.pool); }});
}

void AddReadRoute(AppContext& app, http::Router& router, std::shared_ptr<const http::ListSpec> spec,
                  const ResourceDoc& doc) {
  http::Operation op = NewOperation(doc, "read", "Inspect a " + doc.noun);
  op.parameters = http::FieldSelectionParameters();
  op.responses = {{"200", openapi::JsonResponse("", openapi::Ref(doc.response_schema))}};
  router.Add({"GET", spec->href_prefix + "{pulp_id}/", doc.href_param, std::move(op),
              [&app, spec](http::Request& r) {
                return http::ReadResource(*spec, r, *app.pool, r.path_params["pulp_id"]);
              }});
}

}  // namespace pulp::core::endpoints
