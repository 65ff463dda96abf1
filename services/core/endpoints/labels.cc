#include "services/core/endpoints/labels.h"

#include <pqxx/pqxx>
#include <regex>

#include "absl/strings/str_cat.h"
#include "services/core/db/pool.h"
#include "services/core/http/errors.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/openapi/schema.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

std::string CheckedKey(const Json& in) {
  static const std::regex kKey(R"(^[\w .\-]+$)");
  const std::string key = in["key"];
  if (!std::regex_match(key, kKey)) {
    throw http::FieldError("key", "Key '" + key + "' contains non-alphanumerics.");
  }
  return key;
}

// Locks the row and returns its labels; 404 when it does not exist.
Json LockLabels(pqxx::transaction_base& tx, const std::string& table, const std::string& pk,
                const std::string& model_name) {
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  pqxx::result r = tx.exec(absl::StrCat("SELECT pulp_labels::text FROM ", table,
                                        " WHERE pulp_id = ", tx.quote(pk), "::uuid FOR UPDATE"));
  if (r.empty()) throw http::NotFoundError(model_name);
  return Json::parse(r[0][0].as<std::string>());
}

void StoreLabels(pqxx::transaction_base& tx, const std::string& table, const std::string& pk,
                 const Json& labels) {
  tx.exec(absl::StrCat(
      "UPDATE ", table, " SET pulp_labels = ", tx.quote(DumpJson(labels)),
      "::jsonb, pulp_last_updated = clock_timestamp() WHERE pulp_id = ", tx.quote(pk), "::uuid"));
}

}  // namespace

void AddLabelRoutes(AppContext& app, http::Router& router, const std::string& href_prefix,
                    const std::string& table, const std::string& model_name,
                    const ResourceDoc& doc) {
  app.schemas["SetLabel"] = {
      {"type", "object"},
      {"properties",
       {{"key", {{"type", "string"}, {"minLength", 1}, {"pattern", "^[-a-zA-Z0-9_ .]+$"}}},
        {"value", {{"type", "string"}, {"nullable", true}}}}},
      {"required", {"key", "value"}}};
  app.schemas["SetLabelResponse"] = app.schemas["SetLabel"];
  app.schemas["UnsetLabel"] = {{"type", "object"},
                               {"properties", {{"key", {{"type", "string"}, {"minLength", 1}}}}},
                               {"required", {"key"}}};
  app.schemas["UnsetLabelResponse"] = {
      {"type", "object"},
      {"properties",
       {{"key", {{"type", "string"}}}, {"value", {{"type", "string"}, {"nullable", true}}}}}};
  const std::string detail = href_prefix + "{pulp_id}/";

  http::Operation set;
  set.operation_id = doc.id_prefix + "_set_label";
  set.action = "set_label";
  set.component = doc.component;
  set.tag = doc.tag;
  set.summary = "Set a label";
  set.request_body = openapi::RequestBody("SetLabel", openapi::kJsonAndForms);
  set.responses = {{"201", openapi::JsonResponse("", openapi::Ref("SetLabelResponse"))}};
  router.Add({"POST", detail + "set_label/", doc.href_param, std::move(set),
              [&app, table, model_name](http::Request& req) {
                Json in = http::ValidateFields(http::ReadRequestData(req),
                                               {{"key", http::Field::kString, true},
                                                {"value", http::Field::kString, true, true, true}});
                const std::string key = CheckedKey(in);
                if (in["value"].is_string() &&
                    in["value"].get<std::string>().find_first_of("()") != std::string::npos) {
                  throw http::FieldError("value", "Label values may not contain parentheses.");
                }
                auto lease = app.pool->Acquire();
                if (!lease.ok()) throw http::FromStatus(lease.status());
                pqxx::work tx(**lease);
                Json labels = LockLabels(tx, table, req.path_params["pulp_id"], model_name);
                labels[key] = in["value"];
                StoreLabels(tx, table, req.path_params["pulp_id"], labels);
                tx.commit();
                return http::Response::Json(201, Json{{"key", key}, {"value", in["value"]}});
              }});

  http::Operation unset;
  unset.operation_id = doc.id_prefix + "_unset_label";
  unset.action = "unset_label";
  unset.component = doc.component;
  unset.tag = doc.tag;
  unset.summary = "Unset a label";
  unset.request_body = openapi::RequestBody("UnsetLabel", openapi::kJsonAndForms);
  unset.responses = {{"201", openapi::JsonResponse("", openapi::Ref("UnsetLabelResponse"))}};
  router.Add({"POST", detail + "unset_label/", doc.href_param, std::move(unset),
              [&app, table, model_name](http::Request& req) {
                Json in = http::ValidateFields(http::ReadRequestData(req),
                                               {{"key", http::Field::kString, true}});
                const std::string key = in["key"];
                auto lease = app.pool->Acquire();
                if (!lease.ok()) throw http::FromStatus(lease.status());
                pqxx::work tx(**lease);
                Json labels = LockLabels(tx, table, req.path_params["pulp_id"], model_name);
                if (!labels.contains(key)) {
                  throw http::FieldError("key", "Label '" + key + "' is not set on the object.");
                }
                Json old = labels[key];
                labels.erase(key);
                StoreLabels(tx, table, req.path_params["pulp_id"], labels);
                tx.commit();
                return http::Response::Json(201, Json{{"key", key}, {"value", old}});
              }});
}

}  // namespace pulp::core::endpoints
