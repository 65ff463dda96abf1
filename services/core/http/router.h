#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "services/core/http/message.h"
#include "services/core/util/json.h"

namespace pulp::core::http {

// One declared query or path parameter; it feeds both validation and the OpenAPI document.
struct Parameter {
  std::string name;
  std::string in = "query";
  core::Json schema = core::Json{{"type", "string"}};
  bool required = false;
  std::string description;
};

// What the OpenAPI document says about a route.
struct Operation {
  std::string operation_id;
  std::string action;  // "list", "read", "sync"...: the whole id in the ?bindings variant
  std::string component = "core";  // app label that owns it (?component= filter)
  std::string tag;
  std::string summary;
  std::vector<Parameter> parameters;
  core::Json request_body;                      // OpenAPI requestBody object, or null
  std::map<std::string, core::Json> responses;  // status code → response object
  bool anonymous = false;                       // reachable without credentials
};

using RouteHandler = std::function<Response(Request&)>;

// A route: method + pattern like "/pulp/api/v3/artifacts/{pulp_id}/". `{x}` matches one path
// segment. `href_param` names the OpenAPI href placeholder that replaces the pattern up to and
// including its last `{x}/` segment, which is how pulp-glue addresses detail operations.
struct Route {
  std::string method;
  std::string pattern;
  std::string href_param;
  Operation operation;
  RouteHandler handler;
  bool documented = true;
};

// The single route table: the server dispatches on it and the OpenAPI generator reads it.
class Router {
 public:
  void Add(Route route);
  // Finds the route for the request (fills path_params). Errors: 404 unknown path,
  // 405 known path with another method.
  struct Match {
    const Route* route = nullptr;
    int error_status = 0;
    std::vector<std::string> allowed_methods;
  };
  Match Find(Request& request) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
  std::vector<std::vector<std::string>> segments_;
};

// Splits "/a/{b}/c/" into {"a", "{b}", "c"}.
std::vector<std::string> SplitPath(const std::string& path);

}  // namespace pulp::core::http
