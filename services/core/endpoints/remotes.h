#pragma once

#include "services/core/models/remote_type.h"

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}

namespace endpoints {

// Upstream's remote endpoints for one declared type: create, list, read, update, delete, labels.
void RegisterRemoteRoutes(AppContext& app, http::Router& router, const models::RemoteType& type);

// ageneral_update / ageneral_delete for every declared remote type.
void RegisterRemoteTasks(AppContext& app, tasking::TaskRegistry& registry);

}  // namespace endpoints
}  // namespace pulp::core
