#pragma once

#include <string>

#include "services/core/util/json.h"

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
}  // namespace pulp::core

namespace pulp::core::openapi {

struct GeneratorOptions {
  std::string server_url = "/";         // absolute URL of "/" as the client sees it
  bool bindings = false;                // ?bindings: operationIds shortened to the action
  bool pk_path = false;                 // ?pk_path: keep {pulp_id} paths instead of href templates
  std::vector<std::string> components;  // ?component=core,file: only these apps' operations
};

// The OpenAPI 3 document of every documented route, with pulpcore's operationIds,
// href-templated detail paths and x-pulp-app-versions.
Json Generate(const AppContext& app, const http::Router& router, const GeneratorOptions& options);

// The document as YAML (block style) for docs/api.yaml.
std::string ToYaml(const Json& document);

}  // namespace pulp::core::openapi
