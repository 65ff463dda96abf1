#pragma once

#include <memory>
#include <string>
#include <vector>

#include "services/core/db/migrate.h"

namespace pulp::core {

struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}

// A component's entry in status `versions` and in the schema's x-pulp-app-versions.
struct ComponentVersion {
  std::string component;  // app label: "core", "file"
  std::string version;
  std::string package;
  std::string module;
};

// What a plugin adds to the system. Core knows content types, endpoints and tasks only
// through this interface; core itself is the first plugin.
class Plugin {
 public:
  virtual ~Plugin() = default;
  virtual ComponentVersion Version() const = 0;
  virtual std::vector<db::Migration> Migrations() const = 0;
  // Content and repository types into `app` (every process, before tasks and routes).
  virtual void RegisterTypes(AppContext& app) const {}
  virtual void RegisterRoutes(AppContext& app, http::Router& router) const {}
  virtual void RegisterTasks(AppContext& app, tasking::TaskRegistry& registry) const {}
};

std::unique_ptr<Plugin> MakeCorePlugin();

// Every plugin's routes, then core's generic views over what the plugins registered
// (e.g. /content/ over every content type). The one way a process builds its route table.
void RegisterAllRoutes(AppContext& app, http::Router& router);

// The version every component of this build reports (pulp-cli needs core >= 3.49).
inline constexpr char kPulpVersion[] = "3.117.0";

}  // namespace pulp::core
