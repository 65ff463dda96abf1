#pragma once

#include "services/core/models/publication_type.h"

namespace pulp::core {
struct AppContext;
namespace tasking {
class TaskRegistry;
}
}  // namespace pulp::core

namespace pulp::plugins::file {

core::models::PublicationType FilePublicationType(const core::AppContext& app);
core::models::DistributionType FileDistributionType(const core::AppContext& app);

// pulp_file.app.tasks.publishing.publish: a pass-through publication of a repository version
// plus its PULP_MANIFEST ("relative_path,sha256,size" per file, newest content first).
void RegisterPublishTask(core::tasking::TaskRegistry& registry);

}  // namespace pulp::plugins::file
