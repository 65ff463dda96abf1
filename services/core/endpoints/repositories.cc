// Repository endpoints for any repository type a plugin declares: CRUD, versions, modify.
#include "services/core/endpoints/repositories.h"

#include <set>

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/labels.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/models/remote_type.h"
#include "services/core/models/repository.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

constexpr char kModifyTask[] = "pulpcore.app.tasks.repository.add_and_remove";
constexpr char kDeleteVersionTask[] = "pulpcore.app.tasks.repository.delete_version";

using models::RepositoryType;

// Shared by every handler of one repository type.
struct Ctx {
  AppContext& app;
  RepositoryType type;
};

std::vector<http::Field> WritableFields(const RepositoryType& type) {
  std::vector<http::Field> fields = {
      {"name", http::Field::kString, true, false, false, {}, {}, 255},
      {"description", http::Field::kString, false, true, true},
      {"retain_repo_versions", http::Field::kInteger, false, true, false, 1},
      {"retain_checkpoints", http::Field::kInteger, false, true, false, 1},
      {"remote", http::Field::kString, false, true},
      {"pulp_labels", http::Field::kLabels},
  };
  for (const auto& d : type.detail_fields) {
    if (!d.read_only) fields.push_back(d.field);
  }
  return fields;
}

// RepositoryVersionSerializer's first fields (href by number, repository, base version) for a
// row with kModelColumns, "number" and "base_number".
Json VersionFields(const pqxx::row& row, const std::string& repo_href) {
  Json j = ModelFields(row, repo_href + "versions/", "core.repositoryversion");
  j["pulp_href"] = absl::StrCat(repo_href, "versions/", row["number"].as<int>(), "/");
  j["number"] = row["number"].as<int>();
  j["repository"] = repo_href;
  j["base_version"] =
      row["base_number"].is_null()
          ? Json(nullptr)
          : Json(absl::StrCat(repo_href, "versions/", row["base_number"].as<int>(), "/"));
  return j;
}

// The repository columns both repository lists select (from core_repository t).
constexpr char kRepositoryColumns[] =
    ", t.name, t.description, t.retain_repo_versions, t.retain_checkpoints,"
    " t.pulp_labels::text AS pulp_labels, (SELECT max(v.number) FROM core_repositoryversion v"
    " WHERE v.repository_id = t.pulp_id AND v.complete) AS latest, t.remote_id::text AS remote_id,"
    " (SELECT m.pulp_type FROM core_remote m WHERE m.pulp_id = t.remote_id) AS remote_type";

// Remote pulp_type → its list href, to render a repository's `remote`.
using RemotePrefixes = std::map<std::string, std::string>;
RemotePrefixes RemoteHrefPrefixes(const AppContext& app) {
  RemotePrefixes out;
  for (const auto& [name, t] : app.remote_types) out[name] = t->href_prefix;
  return out;
}

// RepositorySerializer's fields, shared by every typed list and the generic one.
Json RepositoryFields(const pqxx::row& row, const std::string& href_prefix,
                      const std::string& prn_type, const RemotePrefixes& remotes) {
  Json j = ModelFields(row, href_prefix, prn_type);
  const std::string href = j["pulp_href"];
  j["versions_href"] = href + "versions/";
  j["pulp_labels"] = Json::parse(row["pulp_labels"].as<std::string>());
  j["latest_version_href"] = absl::StrCat(href, "versions/", row["latest"].as<int>(), "/");
  j["name"] = row["name"].as<std::string>();
  j["description"] = TextOrNull(row, "description");
  for (const char* k : {"retain_repo_versions", "retain_checkpoints"}) {
    j[k] = row[k].is_null() ? Json(nullptr) : Json(row[k].as<int>());
  }
  j["remote"] = nullptr;
  if (!row["remote_type"].is_null()) {
    auto it = remotes.find(row["remote_type"].as<std::string>());
    if (it != remotes.end()) j["remote"] = it->second + row["remote_id"].as<std::string>() + "/";
  }
  return j;
}

http::ListSpec RepositoryListSpec(const Ctx& c) {
  const RepositoryType& type = c.type;
  http::ListSpec spec;
  spec.model_name = "Repository";
  spec.from = absl::StrCat("core_repository t JOIN ", type.detail_table,
                           " d ON d.repository_ptr_id = t.pulp_id");
  spec.where = absl::StrCat("t.pulp_type = '", type.pulp_type, "' AND NOT t.user_hidden");
  std::string detail_columns;
  for (const auto& d : type.detail_fields) {
    absl::StrAppend(&detail_columns, ", to_json(d.", d.field.name, ")::text AS ", d.field.name);
  }
  spec.columns = absl::StrCat(kModelColumns, kRepositoryColumns, detail_columns);
  spec.href_prefix = type.href_prefix;
  spec.prn_type = type.prn_type;
  spec.labels_column = "t.pulp_labels";
  using F = http::FilterDef;
  spec.filters = {
      {"name", "t.name", F::kText, http::NameLookups()},
      {"retain_repo_versions", "t.retain_repo_versions", F::kNumber, http::NumberLookups()},
      {"retain_checkpoints", "t.retain_checkpoints", F::kNumber, http::NumberLookups()},
      {"remote",
       "t.remote_id",
       F::kCustom,
       {""},
       {},
       [remotes = RemoteHrefPrefixes(c.app)](const std::string& value,
                                             pqxx::transaction_base& tx) -> std::string {
         if (value == "null") return "t.remote_id IS NULL";
         std::string pk = absl::StartsWith(value, "prn:") ? value.substr(value.rfind(':') + 1) : "";
         for (const auto& [name, prefix] : remotes) {
           if (pk.empty()) pk = http::PkFromHref(value, prefix);
         }
         if (!IsUuid(pk)) throw http::FieldError("remote", "Invalid hyperlink - No URL match.");
         return "t.remote_id = " + tx.quote(pk) + "::uuid";
       },
       "Foreign Key referenced by HREF"}};
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"name", "t.name"},
                   {"description", "t.description"},
                   {"next_version", "t.next_version"},
                   {"retain_repo_versions", "t.retain_repo_versions"},
                   {"retain_checkpoints", "t.retain_checkpoints"},
                   {"pulp_type", "t.pulp_type"}};
  spec.serialize = [type, remotes = RemoteHrefPrefixes(c.app)](const pqxx::row& row) {
    Json j = RepositoryFields(row, type.href_prefix, type.prn_type, remotes);
    for (const auto& d : type.detail_fields) {
      j[d.field.name] = Json::parse(row[d.field.name.c_str()].as<std::string>());
    }
    return j;
  };
  return spec;
}

std::string RepoPrn(const RepositoryType& type, const std::string& pk) {
  return absl::StrCat("prn:", type.prn_type, ":", pk);
}

// A remote named by href or PRN → (pk, pulp_type, name); nullopt when it names nothing. Throws
// the serializer's 400 for a reference that is no remote link at all.
struct RemoteRef {
  std::string pk, pulp_type, name;
};
std::optional<RemoteRef> FindRemote(const AppContext& app, pqxx::transaction_base& tx,
                                    const std::string& ref) {
  std::string pk;
  if (absl::StartsWith(ref, "prn:")) {
    pk = ref.substr(ref.rfind(':') + 1);
  } else {
    for (const auto& [name, t] : app.remote_types) {
      if (pk.empty()) pk = http::PkFromHref(ref, t->href_prefix);
    }
  }
  if (!IsUuid(pk)) {
    throw http::FieldError("remote", absl::StartsWith(ref, app.ApiV3() + "remotes/")
                                         ? "Invalid hyperlink - Object does not exist."
                                         : "Invalid hyperlink - No URL match.");
  }
  pqxx::result r =
      tx.exec("SELECT pulp_type, name FROM core_remote WHERE pulp_id = " + tx.quote(pk) + "::uuid");
  if (r.empty()) return std::nullopt;
  return RemoteRef{pk, r[0][0].as<std::string>(), r[0][1].as<std::string>()};
}

// 400s for what the serializer checks beyond field types. A valid `remote` is rewritten to
// its pk, the form the update task and the INSERT take.
void ValidateRepository(const Ctx& c, pqxx::transaction_base& tx, Json& in,
                        const std::string& self_pk) {
  Json errors = Json::object();
  if (in.contains("name")) {
    pqxx::result taken = tx.exec(absl::StrCat(
        "SELECT 1 FROM core_repository WHERE name = ", tx.quote(in["name"].get<std::string>()),
        " AND pulp_domain_id = ", tx.quote(c.app.default_domain_id),
        self_pk.empty() ? "" : " AND pulp_id <> " + tx.quote(self_pk) + "::uuid"));
    if (!taken.empty()) errors["name"] = {"This field must be unique."};
  }
  if (in.contains("remote") && !in["remote"].is_null()) {
    auto remote = FindRemote(c.app, tx, in["remote"]);
    const auto& allowed = c.type.remote_types;
    if (!remote) {
      errors["remote"] = {"Invalid hyperlink - Object does not exist."};
    } else if (std::find(allowed.begin(), allowed.end(), remote->pulp_type) == allowed.end()) {
      errors["remote"] = {"Type for Remote '" + remote->name + "' does not match Repository."};
    } else {
      in["remote"] = remote->pk;
    }
  }
  if (!errors.empty()) throw http::ApiError(400, errors);
}

http::Response Create(Ctx& c, http::Request& req) {
  Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields(c.type));
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  ValidateRepository(c, tx, in, "");
  const std::string pk = NewUuid();
  auto value = [&](const char* key) {
    if (!in.contains(key) || in[key].is_null()) return std::string("NULL");
    return in[key].is_string() ? tx.quote(in[key].get<std::string>()) : in[key].dump();
  };
  try {
    tx.exec(absl::StrCat(
        "INSERT INTO core_repository (pulp_id, pulp_domain_id, pulp_type, name, description,"
        " retain_repo_versions, retain_checkpoints, remote_id, pulp_labels) VALUES (",
        tx.quote(pk), ", ", tx.quote(c.app.default_domain_id), ", ", tx.quote(c.type.pulp_type),
        ", ", value("name"), ", ", value("description"), ", ", value("retain_repo_versions"), ", ",
        value("retain_checkpoints"), ", ", value("remote"), "::uuid, ",
        tx.quote(DumpJson(in.value("pulp_labels", Json::object()))), "::jsonb)"));
  } catch (const pqxx::unique_violation&) {
    throw http::FieldError("name", "This field must be unique.");
  }
  std::vector<std::string> cols = {"repository_ptr_id"}, vals = {tx.quote(pk)};
  for (const auto& d : c.type.detail_fields) {
    if (d.read_only) continue;  // the column's default
    cols.push_back(d.field.name);
    const Json v = in.contains(d.field.name) ? in[d.field.name] : d.default_value;
    vals.push_back(v.is_null()     ? "NULL"
                   : v.is_string() ? tx.quote(v.get<std::string>())
                                   : v.dump());
  }
  tx.exec(absl::StrCat("INSERT INTO ", c.type.detail_table, " (", absl::StrJoin(cols, ", "),
                       ") VALUES (", absl::StrJoin(vals, ", "), ")"));
  // Version 0 exists from the start, empty.
  tx.exec(
      absl::StrCat("INSERT INTO core_repositoryversion (pulp_id, repository_id, number,"
                   " complete) VALUES (",
                   tx.quote(NewUuid()), ", ", tx.quote(pk), ", 0, TRUE)"));
  Json obj = *http::FetchOne(RepositoryListSpec(c), tx, pk);
  tx.commit();
  return Created(obj);
}

http::Response Update(Ctx& c, http::Request& req, bool partial) {
  const std::string pk = req.path_params["pulp_id"];
  Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields(c.type), partial);
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  auto current = IsUuid(pk) ? http::FetchOne(RepositoryListSpec(c), tx, pk) : std::nullopt;
  if (!current) throw http::NotFoundError("Repository");
  ValidateRepository(c, tx, in, pk);
  bool changed = false;
  for (auto it = in.begin(); it != in.end(); ++it) {
    const Json& now = (*current)[it.key()];
    if (it.key() == "remote") {
      // `in` holds the pk now; the rendered remote ends with "<pk>/".
      changed = changed || (now.is_null() != it.value().is_null()) ||
                (!now.is_null() &&
                 !absl::EndsWith(now.get<std::string>(), it.value().get<std::string>() + "/"));
    } else if (now != it.value()) {
      changed = true;
    }
  }
  tx.commit();
  if (!changed) return http::Response::Json(200, *current);
  return TaskAccepted(
      c.app, c.app.dispatcher->Dispatch(GeneralUpdateTask(
                 req, pk, c.type.component, c.type.serializer, RepoPrn(c.type, pk), in, partial)));
}

http::Response Delete(Ctx& c, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  {
    auto lease = c.app.pool->Acquire();
    if (!lease.ok()) throw http::FromStatus(lease.status());
    pqxx::nontransaction tx(**lease);
    if (!IsUuid(pk) || !http::FetchOne(RepositoryListSpec(c), tx, pk)) {
      throw http::NotFoundError("Repository");
    }
  }
  return TaskAccepted(
      c.app, c.app.dispatcher->Dispatch(GeneralDeleteTask(req, pk, c.type.component,
                                                          c.type.serializer, RepoPrn(c.type, pk))));
}

// ---- versions ---------------------------------------------------------------------------

http::ListSpec VersionListSpec(const Ctx& c, const std::string& repo_pk) {
  http::ListSpec spec;
  spec.model_name = "RepositoryVersion";
  spec.from = "core_repositoryversion t";
  spec.where = "t.complete AND t.repository_id = '" + repo_pk + "'::uuid";  // pk checked: UUID
  std::string summary;
  for (const auto& [name, cond] :
       {std::pair{"added", "rc.version_added = t.number"},
        std::pair{"removed", "rc.version_removed = t.number"},
        std::pair{"present",
                  "rc.version_added <= t.number AND (rc.version_removed IS NULL OR"
                  " rc.version_removed > t.number)"}}) {
    absl::StrAppend(&summary,
                    ", COALESCE((SELECT json_object_agg(x.pulp_type, x.n) FROM"
                    " (SELECT c.pulp_type, count(*) AS n FROM core_repositorycontent rc"
                    " JOIN core_content c ON c.pulp_id = rc.content_id WHERE"
                    " rc.repository_id = t.repository_id AND ",
                    cond, " GROUP BY c.pulp_type) x), '{}')::text AS ", name);
  }
  spec.columns = absl::StrCat(kModelColumns,
                              ", t.number, (SELECT b.number FROM core_repositoryversion b WHERE"
                              " b.pulp_id = t.base_version_id) AS base_number",
                              summary);
  const std::string repo_href = c.type.href_prefix + repo_pk + "/";
  spec.href_prefix = repo_href + "versions/";
  spec.prn_type = "core.repositoryversion";
  using F = http::FilterDef;
  std::vector<std::string> number_lookups = {"", "lt", "lte", "gt", "gte", "range"};
  spec.filters = {{"number", "t.number", F::kNumber, number_lookups},
                  {"pulp_created", "t.pulp_created", F::kDateTime, http::DateTimeLookups()}};
  const AppContext* app = &c.app;
  for (const char* name : {"content", "content__in"}) {
    const bool many = std::string(name) == "content__in";
    spec.filters.push_back(
        {name,
         "",
         F::kCustom,
         {""},
         {},
         [app, name, many](const std::string& value, pqxx::transaction_base& tx) {
           std::vector<std::string> pks;
           std::vector<std::string> refs;
           if (many) {
             refs = absl::StrSplit(value, ',', absl::SkipEmpty());
           } else {
             refs.push_back(value);
           }
           for (const std::string& v : refs) {
             std::string ref(v), pk;
             if (absl::StartsWith(ref, "prn:")) pk = ref.substr(ref.rfind(':') + 1);
             for (const auto& [t, ct] : app->content_types) {
               if (pk.empty()) pk = http::PkFromHref(ref, ct.href_prefix);
             }
             if (!IsUuid(pk)) throw http::FieldError(name, "Invalid hyperlink - No URL match.");
             pks.push_back(tx.quote(pk) + "::uuid");
           }
           return absl::StrCat(
               "EXISTS (SELECT 1 FROM core_repositorycontent rc WHERE rc.repository_id ="
               " t.repository_id AND rc.content_id IN (",
               absl::StrJoin(pks, ","),
               ") AND rc.version_added <= t.number AND (rc.version_removed IS NULL OR"
               " rc.version_removed > t.number))");
         }});
  }
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"number", "t.number"},
                   {"complete", "t.complete"}};
  const std::map<std::string, ContentType> types = c.app.content_types;
  spec.serialize = [repo_href, types](const pqxx::row& row) {
    Json j = VersionFields(row, repo_href);
    const std::string href = j["pulp_href"];
    Json summary;
    for (const auto& [name, filter] : {std::pair{"added", "repository_version_added"},
                                       std::pair{"removed", "repository_version_removed"},
                                       std::pair{"present", "repository_version"}}) {
      Json part = Json::object();
      const Json counts = Json::parse(row[name].as<std::string>());
      for (auto it = counts.begin(); it != counts.end(); ++it) {
        auto t = types.find(it.key());
        const std::string list = t == types.end() ? "" : t->second.href_prefix;
        part[it.key()] = {{"count", it.value()}, {"href", list + "?" + filter + "=" + href}};
      }
      summary[name] = part;
    }
    j["content_summary"] = summary;
    j["vuln_report"] =
        absl::StrCat("/pulp/api/v3/vuln_report/?repo_versions=", j["prn"].get<std::string>());
    return j;
  };
  return spec;
}

std::string RepoPkOrThrow(Ctx& c, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::nontransaction tx(**lease);
  if (!IsUuid(pk) || !http::FetchOne(RepositoryListSpec(c), tx, pk)) {
    throw http::NotFoundError("Repository");
  }
  return pk;
}

http::Response ReadVersion(Ctx& c, http::Request& req) {
  const std::string repo_pk = RepoPkOrThrow(c, req);
  int number;
  if (!absl::SimpleAtoi(req.path_params["number"], &number) || number < 0) {
    throw http::DetailError(404, "Not found.");
  }
  http::ListSpec spec = VersionListSpec(c, repo_pk);
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::nontransaction tx(**lease);
  pqxx::result rows = tx.exec(absl::StrCat("SELECT ", spec.columns, " FROM ", spec.from, " WHERE ",
                                           spec.where, " AND t.number = ", number));
  if (rows.empty()) throw http::NotFoundError("RepositoryVersion");
  return http::Response::Json(200, http::SelectFields(spec.serialize(rows[0]), req));
}

http::Response DeleteVersion(Ctx& c, http::Request& req) {
  const std::string repo_pk = RepoPkOrThrow(c, req);
  int number;
  if (!absl::SimpleAtoi(req.path_params["number"], &number) || number < 0) {
    throw http::DetailError(404, "Not found.");
  }
  std::string version_pk;
  {
    auto lease = c.app.pool->Acquire();
    if (!lease.ok()) throw http::FromStatus(lease.status());
    pqxx::nontransaction tx(**lease);
    pqxx::result r =
        tx.exec(absl::StrCat("SELECT pulp_id::text FROM core_repositoryversion WHERE"
                             " complete AND repository_id = ",
                             tx.quote(repo_pk), "::uuid AND number = ", number));
    if (r.empty()) throw http::NotFoundError("RepositoryVersion");
    version_pk = r[0][0].as<std::string>();
  }
  tasking::DispatchRequest task = TaskFrom(req, kDeleteVersionTask);
  task.kwargs = {{"pk", version_pk}};
  task.exclusive_resources = {RepoPrn(c.type, repo_pk)};
  return TaskAccepted(c.app, c.app.dispatcher->Dispatch(task));
}

// Content hrefs/PRNs → pks of accepted types; unknown ones are one 400 listing them all.
std::vector<std::string> ResolveContent(Ctx& c, pqxx::transaction_base& tx, const Json& refs,
                                        const std::string& field) {
  std::vector<std::string> pks, missing;
  for (const auto& ref_json : refs) {
    const std::string ref = ref_json;
    std::string pk;
    if (absl::StartsWith(ref, "prn:")) pk = ref.substr(ref.rfind(':') + 1);
    for (const auto& t : c.type.content_types) {
      auto it = c.app.content_types.find(t);
      if (pk.empty() && it != c.app.content_types.end()) {
        pk = http::PkFromHref(ref, it->second.href_prefix);
      }
    }
    if (!IsUuid(pk)) throw http::FieldError(field, "URI not valid: " + ref);
    pks.push_back(pk);
  }
  if (pks.empty()) return pks;
  std::vector<std::string> quoted, types;
  for (const auto& pk : pks) quoted.push_back(tx.quote(pk) + "::uuid");
  for (const auto& t : c.type.content_types) types.push_back(tx.quote(t));
  pqxx::result found = tx.exec(absl::StrCat(
      "SELECT pulp_id::text FROM core_content WHERE pulp_id IN (", absl::StrJoin(quoted, ","),
      ") AND pulp_type IN (", absl::StrJoin(types, ","), ")"));
  std::set<std::string> ok;
  for (const auto& r : found) ok.insert(r[0].as<std::string>());
  for (size_t i = 0; i < pks.size(); ++i) {
    if (!ok.count(pks[i])) missing.push_back("'" + refs[i].get<std::string>() + "'");
  }
  if (!missing.empty()) {
    throw http::FieldError(field, absl::StrCat("Could not find the following content units: [",
                                               absl::StrJoin(missing, ", "), "]"));
  }
  return pks;
}

http::Response Modify(Ctx& c, http::Request& req) {
  const std::string repo_pk = RepoPkOrThrow(c, req);
  Json in = http::ValidateFields(http::ReadRequestData(req),
                                 {{"add_content_units", http::Field::kStringList},
                                  {"remove_content_units", http::Field::kStringList},
                                  {"base_version", http::Field::kString, false, true},
                                  {"overwrite", http::Field::kBoolean}});
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::nontransaction tx(**lease);
  Json remove = in.value("remove_content_units", Json::array());
  const bool remove_all = std::find(remove.begin(), remove.end(), "*") != remove.end();
  if (remove_all && remove.size() > 1) {
    throw http::FieldError("remove_content_units", "Cannot supply content units and '*'.");
  }
  Json kwargs;
  kwargs["repository_pk"] = repo_pk;
  kwargs["add_content_units"] =
      ResolveContent(c, tx, in.value("add_content_units", Json::array()), "add_content_units");
  kwargs["remove_content_units"] =
      remove_all ? Json::array({"*"}) : Json(ResolveContent(c, tx, remove, "remove_content_units"));
  kwargs["base_version_pk"] = nullptr;
  if (in.contains("base_version") && !in["base_version"].is_null()) {
    bool well_formed = false;
    auto v = models::ResolveVersion(c.app, tx, in["base_version"], &well_formed);
    if (!v || v->repository_pk != repo_pk) {
      throw http::FieldError("base_version", v ? "Invalid hyperlink - Incorrect URL match."
                                             : well_formed
                                                 ? "Invalid hyperlink - Object does not exist."
                                                 : "Invalid hyperlink - No URL match.");
    }
    kwargs["base_version_pk"] = v->version_pk;
    kwargs["base_version_number"] = v->number;
  }
  tasking::DispatchRequest task = TaskFrom(req, kModifyTask);
  task.kwargs = kwargs;
  task.exclusive_resources = {RepoPrn(c.type, repo_pk)};
  return TaskAccepted(c.app, c.app.dispatcher->Dispatch(task));
}

void RegisterSchemas(AppContext& app, const RepositoryType& type) {
  Json out = openapi::ModelResponseProperties();
  out["versions_href"] = {{"type", "string"}, {"format", "uri"}, {"readOnly", true}};
  out["pulp_labels"] = {{"type", "object"},
                        {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  out["latest_version_href"] = {{"type", "string"}, {"format", "uri"}, {"readOnly", true}};
  out["name"] = {{"type", "string"}};
  out["description"] = {{"type", "string"}, {"nullable", true}};
  out["retain_repo_versions"] = {
      {"type", "integer"}, {"format", "int64"}, {"minimum", 1}, {"nullable", true}};
  out["retain_checkpoints"] = {
      {"type", "integer"}, {"format", "int64"}, {"minimum", 1}, {"nullable", true}};
  out["remote"] = {{"type", "string"}, {"format", "uri"}, {"nullable", true}};
  for (const auto& d : type.detail_fields) out[d.field.name] = d.schema;
  app.schemas[type.schema + "Response"] = {
      {"type", "object"}, {"properties", out}, {"required", {"name"}}};
  Json in = out;
  for (const char* ro : {"pulp_href", "prn", "pulp_created", "pulp_last_updated", "versions_href",
                         "latest_version_href"}) {
    in.erase(ro);
  }
  for (const auto& d : type.detail_fields) {
    if (d.read_only) in.erase(d.field.name);
  }
  app.schemas[type.schema] = {{"type", "object"}, {"properties", in}, {"required", {"name"}}};
  app.schemas["Patched" + type.schema] = {{"type", "object"}, {"properties", in}};
  Json v = openapi::ModelResponseProperties();
  v["number"] = {{"type", "integer"}, {"readOnly", true}};
  v["repository"] = {{"type", "string"}, {"format", "uri"}, {"readOnly", true}};
  v["base_version"] = {{"type", "string"}, {"format", "uri"}, {"nullable", true}};
  v["content_summary"] = {{"type", "object"}, {"readOnly", true}};
  v["vuln_report"] = {{"type", "string"}, {"readOnly", true}};
  app.schemas["RepositoryVersionResponse"] = {{"type", "object"}, {"properties", v}};
  app.schemas["RepositoryAddRemoveContent"] = {
      {"type", "object"},
      {"properties",
       {{"add_content_units", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"remove_content_units", {{"type", "array"}, {"items", {{"type", "string"}}}}},
        {"base_version", {{"type", "string"}, {"format", "uri"}}},
        {"overwrite", {{"type", "boolean"}, {"default", true}}}}}};
}

Json RunUpdate(Ctx& c, tasking::TaskContext& ctx, const Json& args, const Json& kwargs) {
  const std::string pk = args[0];
  const Json data = kwargs.value("data", Json::object());
  auto lease = ctx.app().pool->Acquire();
  if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
  pqxx::work tx(**lease);
  std::vector<std::string> core_sets, detail_sets;
  for (auto it = data.begin(); it != data.end(); ++it) {
    const Json& v = it.value();
    const std::string value = v.is_null()                 ? "NULL"
                              : v.is_string()             ? tx.quote(v.get<std::string>())
                              : it.key() == "pulp_labels" ? tx.quote(DumpJson(v)) + "::jsonb"
                                                          : v.dump();
    bool detail = false;
    for (const auto& d : c.type.detail_fields) detail = detail || d.field.name == it.key();
    if (it.key() == "remote") {
      core_sets.push_back("remote_id = " + value + "::uuid");
      continue;
    }
    (detail ? detail_sets : core_sets).push_back(tx.quote_name(it.key()) + " = " + value);
  }
  core_sets.push_back("pulp_last_updated = clock_timestamp()");
  try {
    tx.exec(absl::StrCat("UPDATE core_repository SET ", absl::StrJoin(core_sets, ", "),
                         " WHERE pulp_id = ", tx.quote(pk), "::uuid"));
  } catch (const pqxx::unique_violation&) {
    throw std::runtime_error("{\"name\": [\"This field must be unique.\"]}");
  }
  if (!detail_sets.empty()) {
    tx.exec(absl::StrCat("UPDATE ", c.type.detail_table, " SET ", absl::StrJoin(detail_sets, ", "),
                         " WHERE repository_ptr_id = ", tx.quote(pk), "::uuid"));
  }
  auto obj = http::FetchOne(RepositoryListSpec(c), tx, pk);
  tx.commit();
  if (!obj) throw std::runtime_error("The repository no longer exists.");
  return *obj;
}

Json RunModify(Ctx& c, tasking::TaskContext& ctx, const Json& kwargs) {
  const std::string repo_pk = kwargs.at("repository_pk");
  std::vector<std::string> add = kwargs.value("add_content_units", std::vector<std::string>{});
  std::vector<std::string> remove =
      kwargs.value("remove_content_units", std::vector<std::string>{});
  const bool remove_all = remove.size() == 1 && remove[0] == "*";
  if (remove_all) remove.clear();
  std::optional<int> base;
  if (kwargs.contains("base_version_number")) base = kwargs["base_version_number"].get<int>();
  auto lease = ctx.app().pool->Acquire();
  if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
  pqxx::work tx(**lease);
  std::optional<int> number =
      models::CreateVersion(ctx.app(), tx, repo_pk, base, add, remove, remove_all);
  if (!number) {
    tx.commit();
    return Json(nullptr);
  }
  http::ListSpec spec = VersionListSpec(c, repo_pk);
  pqxx::result rows = tx.exec(absl::StrCat("SELECT ", spec.columns, " FROM ", spec.from, " WHERE ",
                                           spec.where, " AND t.number = ", *number));
  Json version = spec.serialize(rows[0]);
  const auto published = models::FinishNewVersion(ctx.app(), tx, repo_pk, *number);
  tx.commit();
  ctx.AddCreatedResource(version["pulp_href"], version["prn"]);
  for (const auto& [href, prn] : published) ctx.AddCreatedResource(href, prn);
  return version;
}

}  // namespace

void RegisterRepositoryRoutes(AppContext& app, http::Router& router,
                              const models::RepositoryType& type) {
  auto c = std::make_shared<Ctx>(Ctx{app, type});
  RegisterSchemas(app, type);
  auto spec = std::make_shared<http::ListSpec>(RepositoryListSpec(*c));
  const ResourceDoc doc{type.id_prefix, type.component,  type.tag,
                        "repository",   type.href_param, type.schema + "Response"};
  const std::string list = type.href_prefix;
  const std::string detail = list + "{pulp_id}/";
  auto op = [&](std::string id, std::string action, std::string summary) {
    http::Operation o;
    o.operation_id = std::move(id);
    o.action = std::move(action);
    o.component = type.component;
    o.tag = type.tag;
    o.summary = std::move(summary);
    return o;
  };
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
  http::Operation create = op(type.id_prefix + "_create", "create", "Create a repository");
  create.request_body = openapi::RequestBody(type.schema, openapi::kJsonAndForms);
  create.responses = {{"201", openapi::JsonResponse("", openapi::Ref(type.schema + "Response"))}};
  router.Add({"POST", list, "", create, [c](http::Request& r) { return Create(*c, r); }});
  for (const auto& [method, action, partial] :
       {std::tuple{"PUT", "update", false}, std::tuple{"PATCH", "partial_update", true}}) {
    http::Operation o = op(type.id_prefix + "_" + action, action, "Update a repository");
    o.request_body = openapi::RequestBody(partial ? "Patched" + type.schema : type.schema,
                                          openapi::kJsonAndForms);
    o.responses = {{"200", openapi::JsonResponse("", openapi::Ref(type.schema + "Response"))},
                   {"202", openapi::AsyncResponse(app.schemas)}};
    const bool p = partial;
    router.Add({method, detail, type.href_param, o,
                [c, p](http::Request& r) { return Update(*c, r, p); }});
  }
  http::Operation del = op(type.id_prefix + "_delete", "delete", "Delete a repository");
  del.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add(
      {"DELETE", detail, type.href_param, del, [c](http::Request& r) { return Delete(*c, r); }});
  http::Operation modify = op(type.id_prefix + "_modify", "modify", "Modify Repository Content");
  modify.request_body = openapi::RequestBody("RepositoryAddRemoveContent", openapi::kJsonAndForms);
  modify.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add({"POST", detail + "modify/", type.href_param, modify,
              [c](http::Request& r) { return Modify(*c, r); }});
  AddLabelRoutes(app, router, list, "core_repository", "Repository", doc);

  // Versions: the list's own spec depends on the repository in the path.
  http::Operation versions =
      op(type.id_prefix + "_versions_list", "list", "List repository versions");
  versions.tag = type.tag + " Versions";
  versions.parameters = http::ListParameters(VersionListSpec(*c, std::string(36, '0')));
  versions.responses = {
      {"200", openapi::PaginatedResponse(app.schemas, "RepositoryVersionResponse")}};
  router.Add({"GET", detail + "versions/", type.href_param, versions, [c](http::Request& r) {
                const std::string repo_pk = RepoPkOrThrow(*c, r);
                http::ListSpec s = VersionListSpec(*c, repo_pk);
                return http::ListResource(s, r, *c->app.pool);
              }});
  http::Operation version =
      op(type.id_prefix + "_versions_read", "read", "Inspect a repository version");
  version.tag = type.tag + " Versions";
  version.parameters = http::FieldSelectionParameters();
  version.responses = {
      {"200", openapi::JsonResponse("", openapi::Ref("RepositoryVersionResponse"))}};
  router.Add({"GET", detail + "versions/{number}/", type.version_href_param, version,
              [c](http::Request& r) { return ReadVersion(*c, r); }});
  http::Operation delete_version =
      op(type.id_prefix + "_versions_delete", "delete", "Delete a repository version");
  delete_version.tag = type.tag + " Versions";
  delete_version.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add({"DELETE", detail + "versions/{number}/", type.version_href_param, delete_version,
              [c](http::Request& r) { return DeleteVersion(*c, r); }});
}

Json RenderVersion(AppContext& app, const std::string& repository_pk, int number) {
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
  pqxx::nontransaction tx(**lease);
  pqxx::result t =
      tx.exec("SELECT pulp_type FROM core_repository WHERE pulp_id = " + tx.quote(repository_pk) +
              "::uuid");
  if (t.empty()) return Json(nullptr);
  Ctx c{app, *app.repository_types.at(t[0][0].as<std::string>())};
  http::ListSpec spec = VersionListSpec(c, repository_pk);
  pqxx::result rows = tx.exec(absl::StrCat("SELECT ", spec.columns, " FROM ", spec.from, " WHERE ",
                                           spec.where, " AND t.number = ", number));
  return rows.empty() ? Json(nullptr) : spec.serialize(rows[0]);
}

void RegisterGenericRepositoryRoutes(AppContext& app, http::Router& router) {
  std::map<std::string, std::pair<std::string, std::string>> types;  // pulp_type → href, prn
  std::vector<std::string> names;
  for (const auto& [name, t] : app.repository_types) {
    types[name] = {t->href_prefix, t->prn_type};
    names.push_back(name);
  }
  using F = http::FilterDef;
  auto repos = std::make_shared<http::ListSpec>();
  repos->model_name = "Repository";
  repos->from = "core_repository t";
  repos->where = "NOT t.user_hidden";
  repos->columns = absl::StrCat(kModelColumns, ", t.pulp_type", kRepositoryColumns);
  repos->href_prefix = app.ApiV3() + "repositories/";
  repos->prn_type = "core.repository";
  repos->labels_column = "t.pulp_labels";
  repos->filters = {{"name", "t.name", F::kText, http::NameLookups()},
                    {"pulp_type", "t.pulp_type", F::kChoice, {"", "in"}, names}};
  repos->ordering = {{"pulp_id", "t.pulp_id"},
                     {"pulp_created", "t.pulp_created"},
                     {"name", "t.name"},
                     {"pulp_type", "t.pulp_type"}};
  repos->serialize = [types, remotes = RemoteHrefPrefixes(app)](const pqxx::row& row) {
    const auto& [prefix, prn] = types.at(row["pulp_type"].as<std::string>());
    return RepositoryFields(row, prefix, prn, remotes);
  };
  Json props = openapi::ModelResponseProperties();
  for (const char* k : {"versions_href", "latest_version_href", "name", "description", "remote"}) {
    props[k] = {{"type", "string"}};
  }
  app.schemas["RepositoryResponse"] = {{"type", "object"}, {"properties", props}};
  AddListRoute(app, router, repos,
               {"repositories", "core", "Repositories", "repository", "", "RepositoryResponse"});

  auto versions = std::make_shared<http::ListSpec>();
  versions->model_name = "RepositoryVersion";
  versions->from = "core_repositoryversion t JOIN core_repository r ON r.pulp_id = t.repository_id";
  versions->where = "t.complete AND NOT r.user_hidden";
  versions->columns = absl::StrCat(
      kModelColumns,
      ", t.number, r.pulp_type, t.repository_id::text AS repository_id,"
      " (SELECT b.number FROM core_repositoryversion b WHERE b.pulp_id = t.base_version_id)"
      " AS base_number");
  versions->href_prefix = app.ApiV3() + "repository_versions/";
  versions->prn_type = "core.repositoryversion";
  versions->filters = {{"number", "t.number", F::kNumber, {"", "lt", "lte", "gt", "gte", "range"}},
                       {"pulp_created", "t.pulp_created", F::kDateTime, http::DateTimeLookups()}};
  versions->ordering = {
      {"pulp_id", "t.pulp_id"}, {"pulp_created", "t.pulp_created"}, {"number", "t.number"}};
  versions->serialize = [types](const pqxx::row& row) {
    const std::string repo_href = types.at(row["pulp_type"].as<std::string>()).first +
                                  row["repository_id"].as<std::string>() + "/";
    return VersionFields(row, repo_href);
  };
  AddListRoute(app, router, versions,
               {"repository_versions", "core", "Repository Versions", "repository version", "",
                "RepositoryVersionResponse"});
}

void RegisterRepositoryTasks(AppContext& app, tasking::TaskRegistry& registry) {
  for (const auto& [name, type_ptr] : app.repository_types) {
    auto c = std::make_shared<Ctx>(Ctx{app, *type_ptr});
    registry.RegisterSerializerTask(
        tasking::kGeneralUpdate, c->type.component, c->type.serializer,
        [c](tasking::TaskContext& ctx, const Json& args, const Json& kwargs) {
          return RunUpdate(*c, ctx, args, kwargs);
        });
    registry.RegisterSerializerTask(tasking::kGeneralDelete, c->type.component, c->type.serializer,
                                    DeleteRowTask("core_repository"));
  }
  registry.Register(kDeleteVersionTask,
                    [](tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
                      auto lease = ctx.app().pool->Acquire();
                      if (!lease.ok())
                        throw std::runtime_error(std::string(lease.status().message()));
                      pqxx::work tx(**lease);
                      models::DeleteVersion(tx, kwargs.at("pk").get<std::string>());
                      tx.commit();
                      ctx.MarkServedContentChanged();  // its publications went with it
                      return Json(nullptr);
                    });
  // One modify task for every repository type: it looks the type up from the repository.
  AppContext* appp = &app;
  registry.Register(kModifyTask, [appp](tasking::TaskContext& ctx, const Json&,
                                        const Json& kwargs) {
    std::string pulp_type;
    {
      auto lease = appp->pool->Acquire();
      if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
      pqxx::nontransaction tx(**lease);
      pqxx::result r = tx.exec("SELECT pulp_type FROM core_repository WHERE pulp_id = " +
                               tx.quote(kwargs.at("repository_pk").get<std::string>()) + "::uuid");
      if (r.empty()) throw std::runtime_error("The repository no longer exists.");
      pulp_type = r[0][0].as<std::string>();
    }
    auto it = appp->repository_types.find(pulp_type);
    if (it == appp->repository_types.end()) {
      throw std::runtime_error("No plugin serves repositories of type " + pulp_type);
    }
    Ctx c{*appp, *it->second};
    return RunModify(c, ctx, kwargs);
  });
}

}  // namespace pulp::core::endpoints
