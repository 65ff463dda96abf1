#pragma once

#include "services/core/http/listing.h"
#include "services/core/models/publication_type.h"

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}

namespace endpoints {

// Upstream's publication endpoints for one type: create (the plugin's publish task), list,
// read, delete.
void RegisterPublicationRoutes(AppContext& app, http::Router& router,
                               const models::PublicationType& type);

// Listing/serialization of one publication type (the publish task renders its result with it).
http::ListSpec PublicationListSpec(const AppContext& app, const models::PublicationType& type);

// Upstream's distribution endpoints for one type: create, list, read, update, delete (tasks).
void RegisterDistributionRoutes(AppContext& app, http::Router& router,
                                const models::DistributionType& type);
void RegisterDistributionTasks(AppContext& app, tasking::TaskRegistry& registry);

}  // namespace endpoints
}  // namespace pulp::core
