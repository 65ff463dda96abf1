#include "services/core/openapi/generator.h"

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/http/router.h"

namespace pulp::core::openapi {
namespace {

bool IsParamSegment(const std::string& s) {
  return s.size() > 2 && s.front() == '{' && s.back() == '}';
}

// "{file_file_repository_href}sync/" for ".../file/file/{pulp_id}/sync/".
std::string PathKey(const http::Route& route, bool pk_path) {
  if (pk_path || route.href_param.empty()) return route.pattern;
  const std::vector<std::string> segs = http::SplitPath(route.pattern);
  size_t last = segs.size();
  for (size_t i = 0; i < segs.size(); ++i) {
    if (IsParamSegment(segs[i])) last = i;
  }
  if (last == segs.size()) return route.pattern;
  std::string key = absl::StrCat("{", route.href_param, "}");
  for (size_t i = last + 1; i < segs.size(); ++i) absl::StrAppend(&key, segs[i], "/");
  return key;
}

Json ParameterObject(const http::Parameter& p) {
  Json o;
  o["in"] = p.in;
  o["name"] = p.name;
  o["schema"] = p.schema;
  if (!p.description.empty()) o["description"] = p.description;
  if (p.required || p.in == "path") o["required"] = true;
  if (p.schema.value("type", "") == "array") {
    o["style"] = "form";
    o["explode"] = false;
  }
  return o;
}

Json OperationObject(const http::Route& route, const GeneratorOptions& options) {
  const http::Operation& op = route.operation;
  Json o;
  o["operationId"] = options.bindings && !op.action.empty() ? op.action : op.operation_id;
  if (!op.summary.empty()) {
    o["summary"] = op.summary;
    o["description"] = op.summary;
  }
  Json params = Json::array();
  if (!options.pk_path && !route.href_param.empty() && PathKey(route, false) != route.pattern) {
    params.push_back(
        ParameterObject({route.href_param, "path", Json{{"type", "string"}}, true, ""}));
  } else {
    for (const auto& seg : http::SplitPath(route.pattern)) {
      if (IsParamSegment(seg)) {
        params.push_back(ParameterObject(
            {seg.substr(1, seg.size() - 2), "path", Json{{"type", "string"}}, true, ""}));
      }
    }
  }
  for (const auto& p : op.parameters) params.push_back(ParameterObject(p));
  if (!params.empty()) o["parameters"] = params;
  o["tags"] = Json::array({op.tag});
  if (!op.request_body.is_null()) o["requestBody"] = op.request_body;
  if (op.anonymous) {
    o["security"] = Json::array({Json::object(), {{"basicAuth", Json::array()}}});
  } else {
    o["security"] = Json::array({{{"basicAuth", Json::array()}}, {{"cookieAuth", Json::array()}}});
  }
  Json responses = Json::object();
  for (const auto& [code, r] : op.responses) responses[code] = r;
  if (responses.empty()) responses["200"] = Json{{"description", "No response body"}};
  o["responses"] = responses;
  return o;
}

std::string MethodKey(const std::string& method) {
  std::string m = method;
  for (char& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m;
}

void EmitYaml(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (auto it = j.begin(); it != j.end(); ++it) {
      out << YAML::Key << YAML::DoubleQuoted << it.key() << YAML::Value;
      EmitYaml(out, it.value());
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& v : j) EmitYaml(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    out << YAML::DoubleQuoted << j.get<std::string>();
  } else if (j.is_boolean()) {
    out << j.get<bool>();
  } else if (j.is_number_integer()) {
    out << j.get<int64_t>();
  } else if (j.is_number()) {
    out << j.get<double>();
  } else {
    out << YAML::Null;
  }
}

}  // namespace

Json Generate(const AppContext& app, const http::Router& router, const GeneratorOptions& options) {
  Json doc;
  doc["openapi"] = "3.0.3";
  Json info;
  info["title"] = "Pulp 3 API";
  info["version"] = "v3";
  info["description"] = "Fetch, Upload, Organize, and Distribute Software Packages";
  info["contact"] = {
      {"name", "Pulp Team"}, {"email", "pulp-list@redhat.com"}, {"url", "https://pulpproject.org"}};
  info["license"] = {{"name", "GPLv2+"},
                     {"url", "https://raw.githubusercontent.com/pulp/pulpcore/master/LICENSE"}};
  info["x-pulp-app-versions"] = app.AppVersions();
  info["x-pulp-domain-enabled"] = false;
  doc["info"] = info;
  Json paths = Json::object();
  for (const http::Route& route : router.routes()) {
    if (!route.documented) continue;
    if (!options.components.empty() &&
        std::find(options.components.begin(), options.components.end(),
                  route.operation.component) == options.components.end()) {
      continue;
    }
    paths[PathKey(route, options.pk_path)][MethodKey(route.method)] =
        OperationObject(route, options);
  }
  doc["paths"] = paths;
  Json schemas = Json::object();
  for (const auto& [name, schema] : app.schemas) schemas[name] = schema;
  doc["components"] = {
      {"schemas", schemas},
      {"securitySchemes",
       {{"basicAuth", {{"type", "http"}, {"scheme", "basic"}}},
        {"cookieAuth", {{"type", "apiKey"}, {"in", "cookie"}, {"name", "sessionid"}}}}}};
  doc["servers"] = Json::array({{{"url", options.server_url}}});
  return doc;
}

std::string ToYaml(const Json& document) {
  YAML::Emitter out;
  EmitYaml(out, document);
  return std::string(out.c_str()) + "\n";
}

}  // namespace pulp::core::openapi
