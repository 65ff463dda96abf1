// /pulp/api/v3/content/: every content unit of every type, with its artifacts by path.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/core/app_context.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/models/repository_version.h"
#include "services/core/openapi/schema.h"

namespace pulp::core::endpoints {
namespace {

http::ListSpec ContentListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "Content";
  spec.from = "core_content t";
  spec.columns = absl::StrCat(
      kModelColumns,
      ", t.pulp_type, t.pulp_labels::text AS pulp_labels,"
      " COALESCE((SELECT json_object_agg(ca.relative_path, ca.artifact_id) FROM"
      " core_contentartifact ca WHERE ca.content_id = t.pulp_id), '{}')::text AS artifacts");
  spec.href_prefix = app.ApiV3() + "content/";
  spec.prn_type = "core.content";
  spec.labels_column = "t.pulp_labels";
  std::vector<std::string> types;
  for (const auto& [name, type] : app.content_types) types.push_back(name);
  using F = http::FilterDef;
  spec.filters = {{"pulp_type", "t.pulp_type", F::kChoice, {"", "in"}, types},
                  models::RepositoryVersionFilter(app, "repository_version",
                                                  models::Membership::kPresent, "t.pulp_id"),
                  models::RepositoryVersionFilter(app, "repository_version_added",
                                                  models::Membership::kAdded, "t.pulp_id"),
                  models::RepositoryVersionFilter(app, "repository_version_removed",
                                                  models::Membership::kRemoved, "t.pulp_id")};
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"pulp_type", "t.pulp_type"},
                   {"upstream_id", "t.upstream_id"},
                   {"timestamp_of_interest", "t.timestamp_of_interest"}};
  // Each unit is shown with its own type's href and PRN, as upstream's generic list does.
  const std::map<std::string, ContentType> content_types = app.content_types;
  const std::string artifacts = app.ApiV3() + "artifacts/";
  const std::string generic = spec.href_prefix;
  spec.serialize = [content_types, artifacts, generic](const pqxx::row& row) {
    auto it = content_types.find(row["pulp_type"].as<std::string>());
    Json j = it == content_types.end()
                 ? ModelFields(row, generic, "core.content")
                 : ModelFields(row, it->second.href_prefix, it->second.prn_type);
    j["pulp_labels"] = Json::parse(row["pulp_labels"].as<std::string>());
    j["vuln_report"] = nullptr;
    Json paths = Json::object();
    const Json parsed = Json::parse(row["artifacts"].as<std::string>());
    for (auto it = parsed.begin(); it != parsed.end(); ++it) {
      paths[it.key()] = it.value().is_null()
                            ? Json(nullptr)
                            : Json(artifacts + it.value().get<std::string>() + "/");
    }
    j["artifacts"] = paths;
    return j;
  };
  return spec;
}

}  // namespace

void RegisterContentRoutes(AppContext& app, http::Router& router) {
  Json props = openapi::ModelResponseProperties();
  props["pulp_labels"] = {{"type", "object"},
                          {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  props["vuln_report"] = {{"type", "string"}, {"readOnly", true}, {"nullable", true}};
  props["artifacts"] = {{"type", "object"},
                        {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  app.schemas["MultipleArtifactContentResponse"] = {{"type", "object"}, {"properties", props}};
  AddListRoute(
      app, router, std::make_shared<http::ListSpec>(ContentListSpec(app)),
      {"content", "core", "Content", "content unit", "", "MultipleArtifactContentResponse"});
}

}  // namespace pulp::core::endpoints
