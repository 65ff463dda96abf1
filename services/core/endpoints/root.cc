// API root, status/, livez/, docs/ (schema in JSON and YAML, ReDoc page).
#include <sys/statvfs.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/router.h"
#include "services/core/openapi/generator.h"
#include "services/core/openapi/schema.h"
#include "services/core/plugin.h"

namespace pulp::core::endpoints {
namespace {

Json StatusBody(AppContext& app) {
  Json versions = Json::array();
  for (const auto& p : app.plugins) {
    const ComponentVersion v = p->Version();
    versions.push_back({{"component", v.component},
                        {"version", v.version},
                        {"package", v.package},
                        {"module", v.module},
                        {"domain_compatible", true}});
  }
  Json online = {{"worker", Json::array()}, {"api", Json::array()}, {"content", Json::array()}};
  bool connected = false;
  try {
    auto lease = app.pool->Acquire(std::chrono::seconds(2));
    if (lease.ok()) {
      pqxx::read_transaction tx(**lease);
      const auto& s = app.settings;
      pqxx::result rows = tx.exec(absl::StrCat(
          "SELECT app_type, name, pulp_iso(last_heartbeat), versions::text FROM core_appstatus"
          " WHERE (app_type = 'worker' AND last_heartbeat >= now() - interval '1 second' * ",
          s.worker_ttl,
          ") OR (app_type = 'api' AND last_heartbeat >= now() - interval '1 second' * ",
          s.api_app_ttl,
          ") OR (app_type = 'content' AND last_heartbeat >= now() - interval '1 second' * ",
          s.content_app_ttl, ") ORDER BY name"));
      for (const auto& r : rows) {
        online[r[0].as<std::string>()].push_back(
            {{"name", r[1].as<std::string>()},
             {"last_heartbeat", r[2].as<std::string>()},
             {"versions", Json::parse(r[3].as<std::string>())}});
      }
      connected = true;
    }
  } catch (const std::exception&) {
    connected = false;
  }
  Json storage;
  struct statvfs fs;
  if (statvfs(app.settings.media_root.c_str(), &fs) == 0) {
    const uint64_t total = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
    const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
    storage = {{"total", total},
               {"used", total - static_cast<uint64_t>(fs.f_bfree) * fs.f_frsize},
               {"free", free}};
  } else {
    storage = {{"total", nullptr}, {"used", nullptr}, {"free", nullptr}};
  }
  Json body;
  body["versions"] = versions;
  body["online_workers"] = online["worker"];
  body["online_api_apps"] = online["api"];
  body["online_content_apps"] = online["content"];
  body["database_connection"] = {{"connected", connected}};
  body["redis_connection"] = {{"connected", false}};
  body["storage"] = storage;
  body["content_settings"] = {
      {"content_origin",
       app.settings.content_origin.empty() ? Json(nullptr) : Json(app.settings.content_origin)},
      {"content_path_prefix", app.settings.content_path_prefix}};
  body["domain_enabled"] = false;
  return body;
}

openapi::GeneratorOptions SchemaOptions(const http::Request& req) {
  openapi::GeneratorOptions o;
  o.server_url = req.Origin() + "/";
  o.bindings = req.QueryValue("bindings").has_value();
  o.pk_path = req.QueryValue("pk_path").has_value();
  if (auto c = req.QueryValue("component")) {
    for (absl::string_view part : absl::StrSplit(*c, ',', absl::SkipEmpty())) {
      o.components.emplace_back(part);
    }
  }
  return o;
}

std::string DocsPage(const AppContext& app) {
  // ReDoc, as upstream serves at docs/, loaded from our own STATIC_URL: no internet needed.
  return absl::StrCat(R"(<!DOCTYPE html>
<html>
<head>
<title>Pulp 3 API</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { margin: 0; padding: 0; }</style>
</head>
<body>
<redoc spec-url="api.json" hide-download-button="false"></redoc>
<script src=")",
                      app.settings.static_url, R"(redoc/redoc.standalone.js"></script>
</body>
</html>
)");
}

std::string SwaggerPage(const AppContext& app) {
  const std::string base = app.settings.static_url + "swagger-ui/";
  return absl::StrCat(R"(<!DOCTYPE html>
<html>
<head>
<title>Pulp 3 API</title>
<meta charset="utf-8"/>
<link rel="stylesheet" href=")",
                      base, R"(swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src=")",
                      base, R"(swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({url: "../docs/api.json?pk_path=1", dom_id: "#swagger-ui"});
</script>
</body>
</html>
)");
}

}  // namespace

void RegisterRootRoutes(AppContext& app, http::Router& router) {
  const std::string root = app.ApiV3();
  app.schemas["StatusResponse"] = {
      {"type", "object"},
      {"description", "Serializer for the status information of the app"},
      {"properties",
       {{"versions", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"online_workers", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"online_api_apps", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"online_content_apps", {{"type", "array"}, {"items", {{"type", "object"}}}}},
        {"database_connection", {{"type", "object"}}},
        {"redis_connection", {{"type", "object"}}},
        {"storage", {{"type", "object"}}},
        {"content_settings", {{"type", "object"}}},
        {"domain_enabled", {{"type", "boolean"}}}}},
      {"required",
       {"versions", "online_workers", "online_api_apps", "online_content_apps",
        "database_connection", "content_settings", "domain_enabled"}}};

  // The API root lists every resource collection by absolute URL, as DRF's root view does.
  router.Add({"GET",
              root,
              "",
              {"api_root", "", "core", "Root", "API root", {}, nullptr, {}, true},
              [&app, &router, root](http::Request& r) {
                Json body = Json::object();
                for (const auto& route : router.routes()) {
                  if (route.method != "GET" || route.pattern.find('{') != std::string::npos ||
                      route.pattern.size() <= root.size() ||
                      route.operation.operation_id.find("_list") == std::string::npos) {
                    continue;
                  }
                  std::string key = route.pattern.substr(root.size());
                  key.pop_back();
                  body[key] = r.Origin() + route.pattern;
                }
                return http::Response::Json(200, body);
              },
              false});
  router.Add({"GET",
              root + "status/",
              "",
              {"status_read",
               "",
               "core",
               "Status",
               "Returns status and app information about Pulp.",
               {},
               nullptr,
               {{"200", openapi::JsonResponse("", openapi::Ref("StatusResponse"))}},
               true},
              [&app](http::Request&) { return http::Response::Json(200, StatusBody(app)); }});
  router.Add({"GET",
              root + "livez/",
              "",
              {"livez_read",
               "",
               "core",
               "Livez",
               "Liveness probe: 200 when the process serves.",
               {},
               nullptr,
               {{"200", openapi::EmptyResponse("No response body")}},
               true},
              [](http::Request&) { return http::Response::Empty(200); }});
  router.Add({"GET",
              root + "docs/api.json",
              "",
              {"docs_api_json", "", "core", "Docs", "OpenAPI schema (JSON)", {}, nullptr, {}, true},
              [&app, &router](http::Request& r) {
                auto res =
                    http::Response::Json(200, openapi::Generate(app, router, SchemaOptions(r)));
                // drf-spectacular's default type, unless the client asks for plain JSON.
                if (r.Header("accept").find("application/json") == std::string::npos) {
                  res.content_type = "application/vnd.oai.openapi+json";
                }
                return res;
              },
              false});
  router.Add({"GET",
              root + "docs/api.yaml",
              "",
              {"docs_api_yaml", "", "core", "Docs", "OpenAPI schema (YAML)", {}, nullptr, {}, true},
              [&app, &router](http::Request& r) {
                return http::Response::Text(
                    200,
                    r.Header("accept").find("application/yaml") != std::string::npos
                        ? "application/yaml"
                        : "application/vnd.oai.openapi",
                    openapi::ToYaml(openapi::Generate(app, router, SchemaOptions(r))));
              },
              false});
  router.Add({"GET",
              root + "docs/",
              "",
              {"docs", "", "core", "Docs", "API documentation", {}, nullptr, {}, true},
              [&app](http::Request&) {
                return http::Response::Text(200, "text/html; charset=utf-8", DocsPage(app));
              },
              false});
  router.Add({"GET",
              root + "swagger/",
              "",
              {"swagger", "", "core", "Docs", "API documentation", {}, nullptr, {}, true},
              [&app](http::Request&) {
                return http::Response::Text(200, "text/html; charset=utf-8", SwaggerPage(app));
              },
              false});
}

}  // namespace pulp::core::endpoints
