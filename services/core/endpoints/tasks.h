#pragma once

#include "services/core/http/listing.h"

namespace pulp::core {
struct AppContext;
namespace endpoints {
// Listing and serialization of tasks (TaskSerializer's fields and filters).
http::ListSpec TaskListSpec(const AppContext& app);
}  // namespace endpoints
}  // namespace pulp::core
