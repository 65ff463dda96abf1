#pragma once

#include <string>

#include "services/core/http/listing.h"

namespace pulp::core {
struct AppContext;
namespace models {

// The `repository_version`, `repository_version_added` and `repository_version_removed` filters
// of content and artifact lists. A value names a repository version by href or PRN; one that
// names no existing version is a 400, as upstream's related-field filters answer.
// Repository versions arrive with the file-repository endpoints; until their tables exist no
// version can be found, so every well-formed value is "Object does not exist".
http::FilterDef RepositoryVersionFilter(const AppContext& app, const std::string& name);

}  // namespace models
}  // namespace pulp::core
