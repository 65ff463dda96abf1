#pragma once

#include <memory>

#include "services/core/plugin.h"

namespace pulp::plugins::file {

// pulp_file: the "file.file" content type and its endpoints and tasks.
std::unique_ptr<core::Plugin> MakeFilePlugin();

}  // namespace pulp::plugins::file
