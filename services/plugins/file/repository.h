#pragma once

#include "services/core/models/repository_type.h"

namespace pulp::core {
struct AppContext;
}

namespace pulp::plugins::file {

// The "file.file" repository type: core's repository model plus autopublish and manifest.
core::models::RepositoryType FileRepositoryType(const core::AppContext& app);

}  // namespace pulp::plugins::file
