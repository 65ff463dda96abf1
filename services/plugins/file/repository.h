#pragma once

#include "services/core/models/remote_type.h"
#include "services/core/models/repository_type.h"

namespace pulp::core {
struct AppContext;
}

namespace pulp::plugins::file {

// The "file.file" repository type: core's repository model plus autopublish and manifest.
core::models::RepositoryType FileRepositoryType(const core::AppContext& app);

// The "file.file" remote type: a URL of a PULP_MANIFEST.
core::models::RemoteType FileRemoteType(const core::AppContext& app);

}  // namespace pulp::plugins::file
