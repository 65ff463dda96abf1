#pragma once

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}

// Core's REST endpoints, one registration function per concept.
namespace endpoints {
void RegisterRootRoutes(AppContext& app, http::Router& router);  // root, status, livez, docs
void RegisterArtifactRoutes(AppContext& app, http::Router& router);
void RegisterUploadRoutes(AppContext& app, http::Router& router);
// Generic content list over every registered type; register after the plugins' routes.
void RegisterContentRoutes(AppContext& app, http::Router& router);
void RegisterTaskRoutes(AppContext& app, http::Router& router);
void RegisterTaskGroupRoutes(AppContext& app, http::Router& router);
void RegisterWorkerRoutes(AppContext& app, http::Router& router);
void RegisterOrphanRoutes(AppContext& app, http::Router& router);
void RegisterOrphanTask(tasking::TaskRegistry& registry);
}  // namespace endpoints
}  // namespace pulp::core
