// Remote endpoints for any remote type a plugin declares.
#include "services/core/endpoints/remotes.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/labels.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/openapi/schema.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

using models::RemoteType;

// Output columns in upstream's field order; secrets are never shown, only whether they are set.
const char* const kTextFields[] = {"url", "ca_cert", "client_cert", "proxy_url"};
const char* const kSecretFields[] = {"client_key", "proxy_username", "proxy_password", "username",
                                     "password"};
const char* const kTimeouts[] = {"total_timeout", "connect_timeout", "sock_connect_timeout",
                                 "sock_read_timeout"};

std::vector<http::Field> WritableFields() {
  std::vector<http::Field> f = {
      {"name", http::Field::kString, true, false, false, {}, {}, 255},
      {"url", http::Field::kString, true, false, false, {}, {}, 4096},
      {"ca_cert", http::Field::kString, false, true},
      {"client_cert", http::Field::kString, false, true},
      {"client_key", http::Field::kString, false, true},
      {"tls_validation", http::Field::kBoolean},
      {"proxy_url", http::Field::kString, false, true},
      {"proxy_username", http::Field::kString, false, true},
      {"proxy_password", http::Field::kString, false, true},
      {"username", http::Field::kString, false, true},
      {"password", http::Field::kString, false, true},
      {"pulp_labels", http::Field::kLabels},
      {"download_concurrency", http::Field::kInteger, false, true, false, 1},
      {"max_retries", http::Field::kInteger, false, true},
      {"policy", http::Field::kString},
      {"headers", http::Field::kList, false, true},
      {"rate_limit", http::Field::kInteger, false, true},
  };
  for (const char* t : kTimeouts) f.push_back({t, http::Field::kNumber, false, true, false, 0});
  return f;
}

http::ListSpec RemoteListSpec(const RemoteType& type) {
  http::ListSpec spec;
  spec.model_name = "Remote";
  spec.from = "core_remote t";
  spec.where = absl::StrCat("t.pulp_type = '", type.pulp_type, "'");
  std::string secrets;
  for (const char* s : kSecretFields) {
    absl::StrAppend(&secrets, ", (t.", s, " IS NOT NULL AND t.", s, " <> '') AS ", s, "_set");
  }
  spec.columns = absl::StrCat(
      kModelColumns,
      ", t.name, t.url, t.ca_cert, t.client_cert, t.tls_validation, t.proxy_url,"
      " t.pulp_labels::text AS pulp_labels, t.download_concurrency, t.max_retries, t.policy,"
      " t.total_timeout, t.connect_timeout, t.sock_connect_timeout, t.sock_read_timeout,"
      " t.headers::text AS headers, t.rate_limit",
      secrets);
  spec.href_prefix = type.href_prefix;
  spec.prn_type = type.prn_type;
  spec.labels_column = "t.pulp_labels";
  using F = http::FilterDef;
  spec.filters = {
      {"name", "t.name", F::kText, http::NameLookups()},
      {"pulp_last_updated", "t.pulp_last_updated", F::kDateTime, http::DateTimeLookups()}};
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"name", "t.name"},
                   {"url", "t.url"},
                   {"policy", "t.policy"}};
  spec.serialize = [type](const pqxx::row& row) {
    Json j = ModelFields(row, type.href_prefix, type.prn_type);
    j["name"] = row["name"].as<std::string>();
    j["url"] = row["url"].as<std::string>();
    j["ca_cert"] = TextOrNull(row, "ca_cert");
    j["client_cert"] = TextOrNull(row, "client_cert");
    j["tls_validation"] = row["tls_validation"].as<bool>();
    j["proxy_url"] = TextOrNull(row, "proxy_url");
    j["pulp_labels"] = Json::parse(row["pulp_labels"].as<std::string>());
    auto int_or_null = [&](const char* c) {
      return row[c].is_null() ? Json(nullptr) : Json(row[c].as<int64_t>());
    };
    j["download_concurrency"] = int_or_null("download_concurrency");
    j["max_retries"] = int_or_null("max_retries");
    j["policy"] = row["policy"].as<std::string>();
    for (const char* t : kTimeouts) {
      j[t] = row[t].is_null() ? Json(nullptr) : Json(row[t].as<double>());
    }
    j["headers"] =
        row["headers"].is_null() ? Json(nullptr) : Json::parse(row["headers"].as<std::string>());
    j["rate_limit"] = int_or_null("rate_limit");
    Json hidden = Json::array();
    for (const char* s : kSecretFields) {
      hidden.push_back({{"name", s}, {"is_set", row[std::string(s) + "_set"].as<bool>()}});
    }
    j["hidden_fields"] = hidden;
    return j;
  };
  return spec;
}

// What the serializer checks beyond types; `merged` is the remote as it would be saved.
void ValidateRemote(AppContext& app, pqxx::transaction_base& tx, const Json& in, const Json& merged,
                    const std::string& self_pk) {
  Json errors = Json::object();
  if (in.contains("name")) {
    pqxx::result taken = tx.exec(absl::StrCat(
        "SELECT 1 FROM core_remote WHERE name = ", tx.quote(in["name"].get<std::string>()),
        " AND pulp_domain_id = ", tx.quote(app.default_domain_id),
        self_pk.empty() ? "" : " AND pulp_id <> " + tx.quote(self_pk) + "::uuid"));
    if (!taken.empty()) errors["name"] = {"This field must be unique."};
  }
  if (in.contains("url")) {
    const std::string url = in["url"];
    const size_t scheme = url.find("://");
    const std::string authority =
        scheme == std::string::npos
            ? ""
            : url.substr(scheme + 3, url.find('/', scheme + 3) - scheme - 3);
    if (authority.find('@') != std::string::npos) {
      errors["url"] = {
          "The remote url contains username or password. Please use remote username or password "
          "instead."};
    } else if (scheme == std::string::npos ||
               !(absl::StartsWith(url, "http://") || absl::StartsWith(url, "https://") ||
                 absl::StartsWith(url, "file://"))) {
      errors["url"] = {"Enter a valid URL."};
    }
  }
  if (in.contains("policy") && in["policy"] != "immediate" && in["policy"] != "on_demand" &&
      in["policy"] != "streamed") {
    errors["policy"] = {
        absl::StrCat("\"", in["policy"].get<std::string>(), "\" is not a valid choice.")};
  }
  for (const char* pem : {"ca_cert", "client_cert"}) {
    if (in.contains(pem) && in[pem].is_string() &&
        in[pem].get<std::string>().find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      errors[pem] = {"No valid certificate found."};
    }
  }
  const bool has_proxy = merged.value("proxy_url", Json(nullptr)).is_string();
  if (has_proxy && merged["proxy_url"].get<std::string>().find('@') != std::string::npos) {
    errors["proxy_url"] = {"proxy_url must not contain credentials"};
  }
  const bool user = merged.value("proxy_username", Json(nullptr)).is_string();
  const bool pass = merged.value("proxy_password", Json(nullptr)).is_string();
  if (user != pass) {
    errors["non_field_errors"] = {
        "Both proxy_username and proxy_password must be passed together."};
  } else if (user && !has_proxy) {
    errors["non_field_errors"] = {"proxy credentials cannot be specified without a proxy_url"};
  }
  if (in.contains("headers") && in["headers"].is_array()) {
    for (const auto& h : in["headers"]) {
      if (!h.is_object()) errors["headers"] = {"Each header must be an object."};
    }
  }
  if (!errors.empty()) throw http::ApiError(400, errors);
}

std::string SqlValue(pqxx::transaction_base& tx, const std::string& key, const Json& v) {
  if (v.is_null()) return "NULL";
  if (key == "pulp_labels" || key == "headers") return tx.quote(DumpJson(v)) + "::jsonb";
  if (v.is_string()) return tx.quote(v.get<std::string>());
  return v.dump();
}

struct Ctx {
  AppContext& app;
  RemoteType type;
};

http::Response Create(Ctx& c, http::Request& req) {
  Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields());
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  ValidateRemote(c.app, tx, in, in, "");
  const std::string pk = NewUuid();
  std::vector<std::string> cols = {"pulp_id", "pulp_domain_id", "pulp_type"};
  std::vector<std::string> vals = {tx.quote(pk), tx.quote(c.app.default_domain_id),
                                   tx.quote(c.type.pulp_type)};
  for (auto it = in.begin(); it != in.end(); ++it) {
    cols.push_back(tx.quote_name(it.key()));
    vals.push_back(SqlValue(tx, it.key(), it.value()));
  }
  try {
    tx.exec(absl::StrCat("INSERT INTO core_remote (", absl::StrJoin(cols, ", "), ") VALUES (",
                         absl::StrJoin(vals, ", "), ")"));
  } catch (const pqxx::unique_violation&) {
    throw http::FieldError("name", "This field must be unique.");
  }
  Json obj = *http::FetchOne(RemoteListSpec(c.type), tx, pk);
  tx.commit();
  return Created(obj);
}

http::Response Update(Ctx& c, http::Request& req, bool partial) {
  const std::string pk = req.path_params["pulp_id"];
  Json in = http::ValidateFields(http::ReadRequestData(req), WritableFields(), partial);
  auto lease = c.app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  pqxx::result raw =
      tx.exec("SELECT row_to_json(r)::text FROM core_remote r WHERE pulp_id = " + tx.quote(pk) +
              "::uuid AND pulp_type = " + tx.quote(c.type.pulp_type));
  if (raw.empty()) throw http::NotFoundError("Remote");
  Json stored = Json::parse(raw[0][0].as<std::string>());
  Json merged = stored;
  for (auto it = in.begin(); it != in.end(); ++it) merged[it.key()] = it.value();
  ValidateRemote(c.app, tx, in, merged, pk);
  bool changed = false;
  for (auto it = in.begin(); it != in.end(); ++it)
    changed = changed || stored[it.key()] != it.value();
  if (!changed) return http::Response::Json(200, *http::FetchOne(RemoteListSpec(c.type), tx, pk));
  tx.commit();
  return TaskAccepted(c.app, c.app.dispatcher->Dispatch(GeneralUpdateTask(
                                 req, pk, c.type.component, c.type.serializer,
                                 absl::StrCat("prn:", c.type.prn_type, ":", pk), in, partial)));
}

http::Response Delete(Ctx& c, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  {
    auto lease = c.app.pool->Acquire();
    if (!lease.ok()) throw http::FromStatus(lease.status());
    pqxx::nontransaction tx(**lease);
    if (!IsUuid(pk) || !http::FetchOne(RemoteListSpec(c.type), tx, pk)) {
      throw http::NotFoundError("Remote");
    }
  }
  return TaskAccepted(c.app, c.app.dispatcher->Dispatch(GeneralDeleteTask(
                                 req, pk, c.type.component, c.type.serializer,
                                 absl::StrCat("prn:", c.type.prn_type, ":", pk))));
}

}  // namespace

void RegisterRemoteRoutes(AppContext& app, http::Router& router, const RemoteType& type) {
  auto c = std::make_shared<Ctx>(Ctx{app, type});
  Json out = openapi::ModelResponseProperties();
  for (const char* k : {"name", "url", "policy"}) out[k] = {{"type", "string"}};
  for (const char* k : {"ca_cert", "client_cert", "proxy_url"}) {
    out[k] = {{"type", "string"}, {"nullable", true}};
  }
  out["tls_validation"] = {{"type", "boolean"}};
  out["pulp_labels"] = {{"type", "object"},
                        {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  for (const char* k : {"download_concurrency", "max_retries", "rate_limit"}) {
    out[k] = {{"type", "integer"}, {"format", "int64"}, {"nullable", true}};
  }
  for (const char* t : kTimeouts)
    out[t] = {{"type", "number"}, {"format", "double"}, {"nullable", true}, {"minimum", 0}};
  out["headers"] = {{"type", "array"}, {"items", {{"type", "object"}}}, {"nullable", true}};
  out["hidden_fields"] = {{"type", "array"}, {"readOnly", true}, {"items", {{"type", "object"}}}};
  out["policy"] = {{"type", "string"},
                   {"enum", {"immediate", "on_demand", "streamed"}},
                   {"default", "immediate"}};
  app.schemas[type.schema + "Response"] = {
      {"type", "object"}, {"properties", out}, {"required", {"name", "url"}}};
  Json in = out;
  for (const char* ro : {"pulp_href", "prn", "pulp_created", "pulp_last_updated", "hidden_fields"})
    in.erase(ro);
  for (const char* s : kSecretFields)
    in[s] = {{"type", "string"}, {"nullable", true}, {"writeOnly", true}};
  app.schemas[type.schema] = {
      {"type", "object"}, {"properties", in}, {"required", {"name", "url"}}};
  app.schemas["Patched" + type.schema] = {{"type", "object"}, {"properties", in}};

  auto spec = std::make_shared<http::ListSpec>(RemoteListSpec(type));
  const ResourceDoc doc{type.id_prefix, type.component,  type.tag,
                        "remote",       type.href_param, type.schema + "Response"};
  AddListRoute(app, router, spec, doc);
  AddReadRoute(app, router, spec, doc);
  const std::string detail = type.href_prefix + "{pulp_id}/";
  http::Operation create = NewOperation(doc, "create", "Create a remote");
  create.request_body = openapi::RequestBody(type.schema, openapi::kJsonAndForms);
  create.responses = {{"201", openapi::JsonResponse("", openapi::Ref(type.schema + "Response"))}};
  router.Add(
      {"POST", type.href_prefix, "", create, [c](http::Request& r) { return Create(*c, r); }});
  for (const auto& [method, action, partial] :
       {std::tuple{"PUT", "update", false}, std::tuple{"PATCH", "partial_update", true}}) {
    http::Operation o = create;
    o.operation_id = type.id_prefix + "_" + action;
    o.action = action;
    o.summary = "Update a remote";
    o.request_body = openapi::RequestBody(partial ? "Patched" + type.schema : type.schema,
                                          openapi::kJsonAndForms);
    o.responses = {{"200", openapi::JsonResponse("", openapi::Ref(type.schema + "Response"))},
                   {"202", openapi::AsyncResponse(app.schemas)}};
    const bool p = partial;
    router.Add({method, detail, type.href_param, o,
                [c, p](http::Request& r) { return Update(*c, r, p); }});
  }
  http::Operation del = create;
  del.operation_id = type.id_prefix + "_delete";
  del.action = "delete";
  del.summary = "Delete a remote";
  del.request_body = nullptr;
  del.responses = {{"202", openapi::AsyncResponse(app.schemas)}};
  router.Add(
      {"DELETE", detail, type.href_param, del, [c](http::Request& r) { return Delete(*c, r); }});
  AddLabelRoutes(app, router, type.href_prefix, "core_remote", "Remote", doc);
}

void RegisterRemoteTasks(AppContext& app, tasking::TaskRegistry& registry) {
  for (const auto& [name, type_ptr] : app.remote_types) {
    const RemoteType type = *type_ptr;
    registry.RegisterSerializerTask(
        tasking::kGeneralUpdate, type.component, type.serializer,
        [type](tasking::TaskContext& ctx, const Json& args, const Json& kwargs) {
          const std::string pk = args[0];
          auto lease = ctx.app().pool->Acquire();
          if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
          pqxx::work tx(**lease);
          std::vector<std::string> sets = {"pulp_last_updated = clock_timestamp()"};
          const Json data = kwargs.value("data", Json::object());
          for (auto it = data.begin(); it != data.end(); ++it) {
            sets.push_back(tx.quote_name(it.key()) + " = " + SqlValue(tx, it.key(), it.value()));
          }
          try {
            tx.exec(absl::StrCat("UPDATE core_remote SET ", absl::StrJoin(sets, ", "),
                                 " WHERE pulp_id = ", tx.quote(pk), "::uuid"));
          } catch (const pqxx::unique_violation&) {
            throw std::runtime_error("{\"name\": [\"This field must be unique.\"]}");
          }
          auto obj = http::FetchOne(RemoteListSpec(type), tx, pk);
          tx.commit();
          if (!obj) throw std::runtime_error("The remote no longer exists.");
          return *obj;
        });
    registry.RegisterSerializerTask(tasking::kGeneralDelete, type.component, type.serializer,
                                    DeleteRowTask("core_remote"));
  }
}

}  // namespace pulp::core::endpoints
