#pragma once

#include "services/core/http/listing.h"

namespace pulp::core {
struct AppContext;
namespace tasking {
class TaskRegistry;
}
namespace endpoints {
// purge, and the test task behind TASK_TEST_ENDPOINTS.
void RegisterTaskFunctions(tasking::TaskRegistry& registry);
// Listing and serialization of tasks (TaskSerializer's fields and filters).
http::ListSpec TaskListSpec(const AppContext& app);
}  // namespace endpoints
}  // namespace pulp::core
