// Distributions of any declared type: a base path under CONTENT_PATH_PREFIX serving a
// publication, or the latest publication of a repository or repository version.
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/labels.h"
#include "services/core/endpoints/publications.h"
#include "services/core/http/errors.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/relative_path.h"
#include "services/core/models/repository.h"
#include "services/core/models/repository_type.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

using models::DistributionType;

std::vector<http::Field> WritableFields() {
  return {{"name", http::Field::kString, true, false, false, {}, {}, 255},
          {"base_path", http::Field::kString, true, false, false, {}, {}, 1024},
          {"content_guard", http::Field::kString, false, true},
          {"hidden", http::Field::kBoolean},
          {"pulp_labels", http::Field::kLabels},
          {"repository", http::Field::kString, false, true},
          {"repository_version", http::Field::kString, false, true},
          {"publication", http::Field::kString, false, true},
          {"checkpoint", http::Field::kBoolean}};
}

http::ListSpec DistributionListSpec(const AppContext& app, const DistributionType& type) {
  http::ListSpec spec;
  spec.model_name = "Distribution";
  spec.from = "core_distribution t";
  spec.where = absl::StrCat("t.pulp_type = '", type.pulp_type, "'");
  spec.columns = absl::StrCat(
      kModelColumns,
      ", t.name, t.base_path, t.hidden, t.checkpoint, t.pulp_labels::text AS pulp_labels,"
      " t.repository_id::text AS repository_id, t.publication_id::text AS publication_id,"
      " (SELECT v.repository_id::text || '/' || v.number FROM core_repositoryversion v WHERE"
      " v.pulp_id = t.repository_version_id) AS repository_version");
  spec.href_prefix = type.href_prefix;
  spec.prn_type = type.prn_type;
  spec.labels_column = "t.pulp_labels";
  using F = http::FilterDef;
  spec.filters = {{"name", "t.name", F::kText, http::NameLookups()},
                  {"base_path", "t.base_path", F::kText, {"", "contains", "icontains", "in"}},
                  {"checkpoint", "t.checkpoint", F::kBool, {""}}};
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"name", "t.name"},
                   {"base_path", "t.base_path"}};
  std::string repo_prefix, pub_prefix;
  if (auto p = app.publication_types.find(type.publication_type);
      p != app.publication_types.end()) {
    pub_prefix = p->second->href_prefix;
    if (auto r = app.repository_types.find(p->second->repository_type);
        r != app.repository_types.end()) {
      repo_prefix = r->second->href_prefix;
    }
  }
  const std::string base_url = app.settings.content_origin + app.settings.content_path_prefix;
  spec.serialize = [type, repo_prefix, pub_prefix, base_url](const pqxx::row& row) {
    Json j = ModelFields(row, type.href_prefix, type.prn_type);
    j["base_path"] = row["base_path"].as<std::string>();
    j["base_url"] = base_url + row["base_path"].as<std::string>() + "/";
    j["content_guard"] = nullptr;
    j["content_guard_prn"] = nullptr;
    j["no_content_change_since"] = row["publication_id"].is_null()
                                       ? Json(nullptr)
                                       : Json(row["pulp_last_updated"].as<std::string>());
    j["hidden"] = row["hidden"].as<bool>();
    j["pulp_labels"] = Json::parse(row["pulp_labels"].as<std::string>());
    j["name"] = row["name"].as<std::string>();
    j["repository"] = row["repository_id"].is_null()
                          ? Json(nullptr)
                          : Json(repo_prefix + row["repository_id"].as<std::string>() + "/");
    if (row["repository_version"].is_null()) {
      j["repository_version"] = nullptr;
    } else {
      const std::string rv = row["repository_version"].as<std::string>();
      j["repository_version"] = absl::StrCat(repo_prefix, rv.substr(0, rv.find('/')), "/versions/",
                                             rv.substr(rv.find('/') + 1), "/");
    }
    j["publication"] = row["publication_id"].is_null()
                           ? Json(nullptr)
                           : Json(pub_prefix + row["publication_id"].as<std::string>() + "/");
    j["checkpoint"] = row["checkpoint"].as<bool>();
    return j;
  };
  return spec;
}

// Validates `merged` (the distribution as it would be saved) and resolves its references to
// pks, ready for SQL. Throws ApiError(400) with upstream's messages.
Json Resolve(const AppContext& app, const DistributionType& type, pqxx::transaction_base& tx,
             const Json& merged, const std::string& self_pk) {
  Json errors = Json::object();
  Json out = merged;
  if (std::string err = models::RelativePathError(merged["base_path"].get<std::string>());
      !err.empty()) {
    errors["base_path"] = {err};
  } else {
    const std::string bp = merged["base_path"];
    pqxx::result clash = tx.exec(
        absl::StrCat("SELECT name, base_path FROM core_distribution WHERE pulp_domain_id = ",
                     tx.quote(app.default_domain_id),
                     self_pk.empty() ? "" : " AND pulp_id <> " + tx.quote(self_pk) + "::uuid",
                     " AND (base_path = ", tx.quote(bp), " OR base_path LIKE ", tx.quote(bp + "/%"),
                     " OR ", tx.quote(bp), " LIKE base_path || '/%') LIMIT 1"));
    if (!clash.empty()) {
      errors["base_path"] = {clash[0][1].as<std::string>() == bp
                                 ? std::string("This field must be unique.")
                                 : "Overlaps with existing distribution '" +
                                       clash[0][0].as<std::string>() + "'"};
    }
  }
  pqxx::result taken = tx.exec(absl::StrCat(
      "SELECT 1 FROM core_distribution WHERE name = ", tx.quote(merged["name"].get<std::string>()),
      " AND pulp_domain_id = ", tx.quote(app.default_domain_id),
      self_pk.empty() ? "" : " AND pulp_id <> " + tx.quote(self_pk) + "::uuid"));
  if (!taken.empty()) errors["name"] = {"This field must be unique."};
  auto set = [&](const char* k) { return merged.contains(k) && !merged[k].is_null(); };
  const int attached = set("repository") + set("repository_version") + set("publication");
  if (attached > 1) {
    errors["non_field_errors"] = {set("publication")
                                      ? "Only one of the attributes 'repository' and 'publication' "
                                        "may be used simultaneously."
                                      : "Only one of the attributes 'repository' and "
                                        "'repository_version' may be used simultaneously."};
  }
  const auto pub_type = app.publication_types.find(type.publication_type);
  if (set("publication") && pub_type != app.publication_types.end()) {
    const std::string ref = merged["publication"];
    std::string pk = absl::StartsWith(ref, "prn:")
                         ? http::PkFromPrn(ref, pub_type->second->prn_type)
                         : http::PkFromHref(ref, pub_type->second->href_prefix);
    if (pk.empty() || tx.exec("SELECT 1 FROM core_publication WHERE complete AND pulp_id = " +
                              tx.quote(pk) + "::uuid")
                          .empty()) {
      errors["publication"] = {pk.empty() ? "Invalid hyperlink - No URL match."
                                          : "Invalid hyperlink - Object does not exist."};
    }
    out["publication"] = pk;
  }
  if (set("repository") && pub_type != app.publication_types.end()) {
    const auto& rt = app.repository_types.at(pub_type->second->repository_type);
    const std::string ref = merged["repository"];
    std::string pk = absl::StartsWith(ref, "prn:") ? http::PkFromPrn(ref, rt->prn_type)
                                                   : http::PkFromHref(ref, rt->href_prefix);
    if (pk.empty() ||
        tx.exec("SELECT 1 FROM core_repository WHERE pulp_id = " + tx.quote(pk) + "::uuid")
            .empty()) {
      errors["repository"] = {pk.empty() ? "Invalid hyperlink - No URL match."
                                         : "Invalid hyperlink - Object does not exist."};
    }
    out["repository"] = pk;
  }
  if (set("repository_version")) {
    bool well_formed = false;
    auto v = models::ResolveVersion(app, tx, merged["repository_version"], &well_formed);
    if (!v) {
      errors["repository_version"] = {well_formed ? "Invalid hyperlink - Object does not exist."
                                                  : "Invalid hyperlink - No URL match."};
    } else {
      out["repository_version"] = v->version_pk;
    }
  }
  if (set("content_guard"))
    errors["content_guard"] = {"Invalid hyperlink - Object does not exist."};
  if (merged.value("checkpoint", false) && !set("repository")) {
    errors["non_field_errors"] = {"'checkpoint' may only be used with 'repository'."};
  }
  if (!errors.empty()) throw http::ApiError(400, errors);
  return out;
}

std::string Sql(pqxx::transaction_base& tx, const std::string& key, const Json& v) {
  if (v.is_null()) return "NULL";
  if (key == "pulp_labels") return tx.quote(DumpJson(v)) + "::jsonb";
  if (key == "repository" || key == "repository_version" || key == "publication") {
    return tx.quote(v.get<std::string>()) + "::uuid";
  }
  if (v.is_string()) return tx.quote(v.get<std::string>());
  return v.dump();
}

std::string Column(const std::string& key) {
  if (key == "repository" || key == "repository_version" || key == "publication" ||
      key == "content_guard") {
    return key + "_id";
  }
  return key;
}

Json Defaults() {
  return Json{{"hidden", false},         {"pulp_labels", Json::object()},
              {"repository", nullptr},   {"repository_version", nullptr},
              {"publication", nullptr},  {"checkpoint", false},
              {"content_guard", nullptr}};
}

std::vector<std::string> Locks(const AppContext& app) {
  return {absl::StrCat("pdrn:", app.default_domain_id, ":distributions")};
}

}  // namespace

void RegisterDistributionRoutes(AppContext& app, http::Router& router,
                                const DistributionType& type) {
  Json out = openapi::ModelResponseProperties();
  out["base_path"] = {{"type", "string"}};
  out["base_url"] = {{"type", "string"}, {"readOnly", true}};
  out["content_guard"] = {{"type", "string"}, {"format", "uri"}, {"nullable", true}};
  out["content_guard_prn"] = {{"type", "string"}, {"readOnly", true}, {"nullable", true}};
  out["no_content_change_since"] = {{"type", "string"}, {"readOnly", true}, {"nullable", true}};
  out["hidden"] = {{"type", "boolean"}, {"default", false}};
  out["pulp_labels"] = {{"type", "object"},
                        {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  out["name"] = {{"type", "string"}};
  for (const char* k : {"repository", "repository_version", "publication"}) {
    out[k] = {{"type", "string"}, {"format", "uri"}, {"nullable", true}};
  }
  out["checkpoint"] = {{"type", "boolean"}};
  app.schemas[type.schema + "Response"] = {
      {"type", "object"}, {"properties", out}, {"required", {"name", "base_path"}}};
  Json in = out;
  for (const char* ro : {"pulp_href", "prn", "pulp_created", "pulp_last_updated", "base_url",
                         "content_guard_prn", "no_content_change_since"}) {
    in.erase(ro);
  }
  app.schemas[type.schema] = {
      {"type", "object"}, {"properties", in}, {"required", {"name", "base_path"}}};
  app.schemas["Patched" + type.schema] = {{"type", "object"}, {"properties", in}};

  auto spec = std::make_shared<http::ListSpec>(DistributionListSpec(app, type));
  const ResourceDoc doc{type.id_prefix, type.component,  type.tag,
                        "distribution", type.href_param, type.schema + "Response"};
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
  http::Operation create = NewOperation(doc, "create", "Create a distribution");
  create.request_body = openapi::RequestBody(type.schema, openapi::kJsonAndForms);
  create.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add({"POST", type.href_prefix, "", create, [&app, type](http::Request& req) {
                Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields());
                Json merged = Defaults();
                for (auto it = in.begin(); it != in.end(); ++it) merged[it.key()] = it.value();
                auto lease = app.pool->Acquire();
                if (!lease.ok()) throw http::FromStatus(lease.status());
                {
                  pqxx::nontransaction tx(**lease);
                  Resolve(app, type, tx, merged, "");
                }
                tasking::DispatchRequest task = TaskFrom(req, tasking::kGeneralCreate);
                task.args = Json::array({type.component, type.serializer});
                task.kwargs = {{"data", in}, {"context", Json::object()}};
                task.exclusive_resources = {
                    absl::StrCat("pdrn:", app.default_domain_id, ":distribution.base_path")};
                task.shared_resources = Locks(app);
                return TaskAccepted(app, app.dispatcher->Dispatch(task));
              }});
  const std::string detail = type.href_prefix + "{pulp_id}/";
  for (const auto& [method, action, partial] :
       {std::tuple{"PUT", "update", false}, std::tuple{"PATCH", "partial_update", true}}) {
    http::Operation o = create;
    o.operation_id = type.id_prefix + "_" + action;
    o.action = action;
    o.summary = "Update a distribution";
    o.request_body = openapi::RequestBody(partial ? "Patched" + type.schema : type.schema,
                                          openapi::kJsonAndForms);
    o.responses = {{"200", openapi::JsonResponse("", openapi::Ref(type.schema + "Response"))},
                   {"202", openapi::AsyncResponse(app.schemas)}};
    const bool p = partial;
    router.Add({method, detail, type.href_param, o, [&app, type, spec, p](http::Request& req) {
                  const std::string pk = req.path_params["pulp_id"];
                  Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields(), p);
                  auto lease = app.pool->Acquire();
                  if (!lease.ok()) throw http::FromStatus(lease.status());
                  pqxx::nontransaction tx(**lease);
                  auto current = IsUuid(pk) ? http::FetchOne(*spec, tx, pk) : std::nullopt;
                  if (!current) throw http::NotFoundError("Distribution");
                  Json merged = Defaults();
                  for (auto it = merged.begin(); it != merged.end(); ++it) {
                    if (current->contains(it.key())) it.value() = (*current)[it.key()];
                  }
                  merged["name"] = (*current)["name"];
                  merged["base_path"] = (*current)["base_path"];
                  if (!p) merged = Defaults();
                  bool changed = false;
                  for (auto it = in.begin(); it != in.end(); ++it) {
                    changed = changed || (*current)[it.key()] != it.value();
                    merged[it.key()] = it.value();
                  }
                  Resolve(app, type, tx, merged, pk);
                  if (!changed) return http::Response::Json(200, *current);
                  tasking::DispatchRequest task =
                      GeneralUpdateTask(req, pk, type.component, type.serializer,
                                        absl::StrCat("prn:", type.prn_type, ":", pk), in, p);
                  if (in.contains("base_path") && in["base_path"] != (*current)["base_path"]) {
                    task.exclusive_resources.push_back(
                        absl::StrCat("pdrn:", app.default_domain_id, ":distribution.base_path"));
                  }
                  task.shared_resources = Locks(app);
                  return TaskAccepted(app, app.dispatcher->Dispatch(task));
                }});
  }
  http::Operation del = create;
  del.operation_id = type.id_prefix + "_delete";
  del.action = "delete";
  del.summary = "Delete a distribution";
  del.request_body = nullptr;
  router.Add({"DELETE", detail, type.href_param, del, [&app, type, spec](http::Request& req) {
                const std::string pk = req.path_params["pulp_id"];
                {
                  auto lease = app.pool->Acquire();
                  if (!lease.ok()) throw http::FromStatus(lease.status());
                  pqxx::nontransaction tx(**lease);
                  if (!IsUuid(pk) || !http::FetchOne(*spec, tx, pk)) {
                    throw http::NotFoundError("Distribution");
                  }
                }
                tasking::DispatchRequest task =
                    GeneralDeleteTask(req, pk, type.component, type.serializer,
                                      absl::StrCat("prn:", type.prn_type, ":", pk));
                task.shared_resources = Locks(app);
                task.immediate = true;
                return TaskAccepted(app, app.dispatcher->Dispatch(task));
              }});
  AddLabelRoutes(app, router, type.href_prefix, "core_distribution", "Distribution", doc);
}

void RegisterDistributionTasks(AppContext& app, tasking::TaskRegistry& registry) {
  for (const auto& [name, type_ptr] : app.distribution_types) {
    const DistributionType type = *type_ptr;
    AppContext* appp = &app;
    // Create and update re-validate inside the task: the locks make that check race-free.
    auto save = [appp, type](const std::string& pk, const Json& data, bool partial) {
      AppContext& app = *appp;
      auto lease = app.pool->Acquire();
      if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
      pqxx::work tx(**lease);
      http::ListSpec spec = DistributionListSpec(app, type);
      Json merged = Defaults();
      if (!pk.empty()) {
        auto current = http::FetchOne(spec, tx, pk);
        if (!current) throw std::runtime_error("The distribution no longer exists.");
        if (partial) {
          for (auto it = merged.begin(); it != merged.end(); ++it) {
            if (current->contains(it.key())) it.value() = (*current)[it.key()];
          }
        }
        merged["name"] = (*current)["name"];
        merged["base_path"] = (*current)["base_path"];
      }
      for (auto it = data.begin(); it != data.end(); ++it) merged[it.key()] = it.value();
      Json resolved = Resolve(app, type, tx, merged, pk);
      const std::string id = pk.empty() ? NewUuid() : pk;
      std::vector<std::string> cols, vals, sets;
      for (auto it = resolved.begin(); it != resolved.end(); ++it) {
        if (it.key() == "content_guard") continue;
        cols.push_back(tx.quote_name(Column(it.key())));
        vals.push_back(Sql(tx, it.key(), it.value()));
        sets.push_back(cols.back() + " = " + vals.back());
      }
      if (pk.empty()) {
        tx.exec(absl::StrCat("INSERT INTO core_distribution (pulp_id, pulp_domain_id, pulp_type, ",
                             absl::StrJoin(cols, ", "), ") VALUES (", tx.quote(id), ", ",
                             tx.quote(app.default_domain_id), ", ", tx.quote(type.pulp_type), ", ",
                             absl::StrJoin(vals, ", "), ")"));
      } else {
        tx.exec(absl::StrCat(
            "UPDATE core_distribution SET ", absl::StrJoin(sets, ", "),
            ", pulp_last_updated = clock_timestamp() WHERE pulp_id = ", tx.quote(id), "::uuid"));
      }
      Json obj = *http::FetchOne(spec, tx, id);
      tx.commit();
      return obj;
    };
    registry.RegisterSerializerTask(
        tasking::kGeneralCreate, type.component, type.serializer,
        [save](tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
          try {
            Json obj = save("", kwargs.value("data", Json::object()), false);
            ctx.AddCreatedResource(obj["pulp_href"], obj["prn"]);
            ctx.MarkServedContentChanged();
            return obj;
          } catch (const http::ApiError& e) {
            throw std::runtime_error(DumpJson(e.body()));
          }
        });
    registry.RegisterSerializerTask(
        tasking::kGeneralUpdate, type.component, type.serializer,
        [save](tasking::TaskContext& ctx, const Json& args, const Json& kwargs) {
          try {
            Json obj =
                save(args[0], kwargs.value("data", Json::object()), kwargs.value("partial", true));
            ctx.MarkServedContentChanged();
            return obj;
          } catch (const http::ApiError& e) {
            throw std::runtime_error(DumpJson(e.body()));
          }
        });
    registry.RegisterSerializerTask(tasking::kGeneralDelete, type.component, type.serializer,
                                    DeleteRowTask("core_distribution"));
  }
}

}  // namespace pulp::core::endpoints
