#pragma once

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}

// Core's REST endpoints, one registration function per concept.
namespace endpoints {
void RegisterRootRoutes(AppContext& app, http::Router& router);  // root, status, livez, docs
void RegisterArtifactRoutes(AppContext& app, http::Router& router);
void RegisterUploadRoutes(AppContext& app, http::Router& router);
void RegisterTaskRoutes(AppContext& app, http::Router& router);
}  // namespace endpoints
}  // namespace pulp::core
