// Publications of any declared type: created by the plugin's publish task, listed, deleted.
#include "services/core/endpoints/publications.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/http/errors.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/repository.h"
#include "services/core/models/repository_type.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

using models::PublicationType;

// The repository pk of a repository href/PRN of `repository_type`, if it exists.
std::optional<std::string> ResolveRepository(const AppContext& app, pqxx::transaction_base& tx,
                                             const std::string& ref,
                                             const std::string& repository_type) {
  auto it = app.repository_types.find(repository_type);
  if (it == app.repository_types.end()) return std::nullopt;
  std::string pk = absl::StartsWith(ref, "prn:") ? http::PkFromPrn(ref, it->second->prn_type)
                                                 : http::PkFromHref(ref, it->second->href_prefix);
  if (pk.empty()) return std::nullopt;
  if (tx.exec("SELECT 1 FROM core_repository WHERE pulp_id = " + tx.quote(pk) + "::uuid").empty()) {
    return std::nullopt;
  }
  return pk;
}

http::Response Create(AppContext& app, const PublicationType& type, http::Request& req) {
  Json in = http::ValidateFields(http::ReadRequestData(req),
                                 {{"repository", http::Field::kString, false, true},
                                  {"repository_version", http::Field::kString, false, true},
                                  {"manifest", http::Field::kString, false, true},
                                  {"checkpoint", http::Field::kBoolean}});
  const bool has_repo = in.contains("repository") && !in["repository"].is_null();
  const bool has_version = in.contains("repository_version") && !in["repository_version"].is_null();
  if (!has_repo && !has_version) {
    throw http::NonFieldError(
        "Either the 'repository' or 'repository_version' need to be specified");
  }
  if (has_repo && has_version) {
    throw http::NonFieldError(
        "Either the 'repository' or 'repository_version' need to be specified but not both.");
  }
  if (in.value("checkpoint", false) && !has_repo) {
    throw http::NonFieldError("'checkpoint' may only be used with 'repository'");
  }
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::nontransaction tx(**lease);
  std::string repo_pk, version_pk;
  if (has_repo) {
    auto pk = ResolveRepository(app, tx, in["repository"], type.repository_type);
    if (!pk) throw http::FieldError("repository", "Invalid hyperlink - Object does not exist.");
    repo_pk = *pk;
    pqxx::result v = tx.exec(
        "SELECT pulp_id::text FROM core_repositoryversion WHERE complete AND repository_id = " +
        tx.quote(repo_pk) + "::uuid ORDER BY number DESC LIMIT 1");
    version_pk = v[0][0].as<std::string>();
  } else {
    bool well_formed = false;
    auto v = models::ResolveVersion(app, tx, in["repository_version"], &well_formed);
    if (!v || v->repository_type != type.repository_type) {
      throw http::FieldError("repository_version",
                             well_formed ? "Invalid hyperlink - Object does not exist."
                                         : "Invalid hyperlink - No URL match.");
    }
    repo_pk = v->repository_pk;
    version_pk = v->version_pk;
  }
  tasking::DispatchRequest task = TaskFrom(req, type.publish_task);
  task.kwargs = {{"repository_version_pk", version_pk},
                 {"manifest", in.value("manifest", Json("PULP_MANIFEST"))}};
  if (in.value("checkpoint", false)) task.kwargs["checkpoint"] = true;
  task.shared_resources = {
      absl::StrCat("prn:", app.repository_types.at(type.repository_type)->prn_type, ":", repo_pk)};
  return TaskAccepted(app, app.dispatcher->Dispatch(task));
}

}  // namespace

http::ListSpec PublicationListSpec(const AppContext& app, const PublicationType& type) {
  http::ListSpec spec;
  spec.model_name = "Publication";
  spec.from =
      "core_publication t JOIN core_repositoryversion v ON v.pulp_id = t.repository_version_id"
      " JOIN core_repository r ON r.pulp_id = v.repository_id";
  spec.where = absl::StrCat("t.complete AND t.pulp_type = '", type.pulp_type, "'");
  spec.columns = absl::StrCat(
      kModelColumns,
      ", v.number, r.pulp_id::text AS repository_id, t.manifest, t.checkpoint,"
      " ARRAY(SELECT d.pulp_id::text FROM core_distribution d WHERE d.publication_id = t.pulp_id"
      " ORDER BY d.pulp_created) AS distributions");
  spec.href_prefix = type.href_prefix;
  spec.prn_type = type.prn_type;
  const std::string repo_prefix = app.repository_types.at(type.repository_type)->href_prefix;
  std::string dist_prefix;
  for (const auto& [n, d] : app.distribution_types) {
    if (d->publication_type == type.pulp_type) dist_prefix = d->href_prefix;
  }
  using F = http::FilterDef;
  const AppContext* appp = &app;
  const std::string repository_type = type.repository_type;
  spec.filters = {
      {"pulp_created", "t.pulp_created", F::kDateTime, http::DateTimeLookups()},
      {"checkpoint", "t.checkpoint", F::kBool, {""}},
      {"repository",
       "",
       F::kCustom,
       {""},
       {},
       [appp, repository_type](const std::string& v, pqxx::transaction_base& tx) {
         auto pk = ResolveRepository(*appp, tx, v, repository_type);
         if (!pk)
           throw http::FieldError("repository", "Invalid hyperlink - Object does not exist.");
         return "r.pulp_id = " + tx.quote(*pk) + "::uuid";
       }},
      {"repository_version",
       "",
       F::kCustom,
       {""},
       {},
       [appp](const std::string& v, pqxx::transaction_base& tx) {
         bool well_formed = false;
         auto version = models::ResolveVersion(*appp, tx, v, &well_formed);
         if (!version) {
           throw http::FieldError("repository_version",
                                  well_formed ? "Invalid hyperlink - Object does not exist."
                                              : "Invalid hyperlink - No URL match.");
         }
         return "v.pulp_id = " + tx.quote(version->version_pk) + "::uuid";
       }}};
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"}};
  spec.serialize = [type, repo_prefix, dist_prefix](const pqxx::row& row) {
    Json j = ModelFields(row, type.href_prefix, type.prn_type);
    const std::string repo = repo_prefix + row["repository_id"].as<std::string>() + "/";
    j["repository_version"] = absl::StrCat(repo, "versions/", row["number"].as<int>(), "/");
    j["repository"] = repo;
    Json dists = Json::array();
    auto parser = row["distributions"].as_array();
    for (auto item = parser.get_next(); item.first != pqxx::array_parser::done;
         item = parser.get_next()) {
      if (item.first == pqxx::array_parser::string_value) {
        dists.push_back(dist_prefix + item.second + "/");
      }
    }
    j["distributions"] = dists;
    j["manifest"] = TextOrNull(row, "manifest");
    j["checkpoint"] = row["checkpoint"].as<bool>();
    return j;
  };
  return spec;
}

void RegisterPublicationRoutes(AppContext& app, http::Router& router, const PublicationType& type) {
  Json out = openapi::ModelResponseProperties();
  out["repository_version"] = {{"type", "string"}, {"format", "uri"}};
  out["repository"] = {{"type", "string"}, {"format", "uri"}};
  out["distributions"] = {
      {"type", "array"}, {"readOnly", true}, {"items", {{"type", "string"}, {"format", "uri"}}}};
  out["manifest"] = {{"type", "string"}, {"nullable", true}, {"default", "PULP_MANIFEST"}};
  out["checkpoint"] = {{"type", "boolean"}};
  app.schemas[type.schema + "Response"] = {{"type", "object"}, {"properties", out}};
  app.schemas[type.schema] = {
      {"type", "object"},
      {"properties",
       {{"repository_version", {{"type", "string"}, {"format", "uri"}}},
        {"repository", {{"type", "string"}, {"format", "uri"}, {"writeOnly", true}}},
        {"manifest", {{"type", "string"}, {"nullable", true}, {"default", "PULP_MANIFEST"}}},
        {"checkpoint", {{"type", "boolean"}}}}}};
  auto spec = std::make_shared<http::ListSpec>(PublicationListSpec(app, type));
  const ResourceDoc doc{type.id_prefix, type.component,  type.tag,
                        "publication",  type.href_param, type.schema + "Response"};
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
  http::Operation create = NewOperation(doc, "create", "Create a publication");
  create.request_body = openapi::RequestBody(type.schema, openapi::kJsonAndForms);
  create.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add({"POST", type.href_prefix, "", create,
              [&app, type](http::Request& r) { return Create(app, type, r); }});
  http::Operation del = create;
  del.operation_id = type.id_prefix + "_delete";
  del.action = "delete";
  del.summary = "Delete a publication";
  del.request_body = nullptr;
  del.responses = {{"204", openapi::EmptyResponse("No response body")}};
  router.Add({"DELETE", type.href_prefix + "{pulp_id}/", type.href_param, del,
              [&app, type](http::Request& req) {
                const std::string pk = req.path_params["pulp_id"];
                if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
                auto lease = app.pool->Acquire();
                if (!lease.ok()) throw http::FromStatus(lease.status());
                pqxx::work tx(**lease);
                pqxx::result r = tx.exec(absl::StrCat(
                    "DELETE FROM core_publication WHERE pulp_id = ", tx.quote(pk),
                    "::uuid AND pulp_type = ", tx.quote(type.pulp_type), " RETURNING 1"));
                if (r.empty()) throw http::NotFoundError("Publication");
                tx.commit();
                app.ServedContentChanged("publication deleted");
                return http::Response::Empty(204);
              }});
}

}  // namespace pulp::core::endpoints
