#pragma once

#include <string>

#include "services/core/models/publication_type.h"
#include "services/core/util/json.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;
namespace tasking {
class TaskRegistry;
}
}  // namespace pulp::core

namespace pulp::plugins::file {

core::models::PublicationType FilePublicationType(const core::AppContext& app);
core::models::DistributionType FileDistributionType(const core::AppContext& app);

// Publishes a repository version inside `tx`: a finished pass-through publication plus, when
// `manifest` is a name, a manifest file by that name ("relative_path,sha256,size" per file,
// newest content first; on_demand files take size from their remote artifact). Returns the
// publication's (href, prn).
std::pair<std::string, std::string> PublishVersion(core::AppContext& app,
                                                   pqxx::transaction_base& tx,
                                                   const std::string& version_pk,
                                                   const core::Json& manifest);

// A mirror sync's publication: the remote's own manifest file, served under `manifest_name`.
std::pair<std::string, std::string> PublishMirror(core::AppContext& app, pqxx::transaction_base& tx,
                                                  const std::string& version_pk,
                                                  const std::string& manifest_name,
                                                  const std::string& manifest_text);

// pulp_file.app.tasks.publishing.publish: a pass-through publication of a repository version
// plus its PULP_MANIFEST ("relative_path,sha256,size" per file, newest content first).
void RegisterPublishTask(core::tasking::TaskRegistry& registry);

}  // namespace pulp::plugins::file
