#pragma once

#include <string>

#include "services/core/models/repository_type.h"
#include "services/core/util/json.h"

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}

namespace endpoints {

// Upstream's repository endpoints for one declared type: CRUD, versions, modify, labels.
void RegisterRepositoryRoutes(AppContext& app, http::Router& router,
                              const models::RepositoryType& type);

// /repositories/ and /repository_versions/ over every declared repository type.
void RegisterGenericRepositoryRoutes(AppContext& app, http::Router& router);

// A repository version as its endpoint renders it (tasks return it as their result).
Json RenderVersion(AppContext& app, const std::string& repository_pk, int number);

// ageneral_update / ageneral_delete for every declared repository type, and add_and_remove.
void RegisterRepositoryTasks(AppContext& app, tasking::TaskRegistry& registry);

}  // namespace endpoints
}  // namespace pulp::core
