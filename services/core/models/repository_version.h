#pragma once

#include <string>

#include "services/core/http/listing.h"
#include "services/core/models/repository.h"

namespace pulp::core {
struct AppContext;
namespace models {

// A `repository_version[_added|_removed]` list filter. The value names a version by href or
// PRN; one that names no version is a 400, as upstream's related-field filters answer.
// `content_column` is the listed row's content pk; with `via_artifact` the listed rows are
// artifacts and `content_column` is the artifact pk (artifacts of content in the version).
http::FilterDef RepositoryVersionFilter(const AppContext& app, const std::string& name,
                                        Membership which, const std::string& content_column,
                                        bool via_artifact = false);

}  // namespace models
}  // namespace pulp::core
