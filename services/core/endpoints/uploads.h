#pragma once

#include <string>

namespace pulp::core {
struct AppContext;
namespace tasking {
class TaskRegistry;
}

namespace endpoints {
// Concatenates an upload's chunks into an artifact (reusing an existing one with the same
// sha256), deletes the upload, and returns the artifact's pk. `expected_sha256` empty = any.
// Throws std::runtime_error with a user-facing message when the upload is incomplete.
// With `reuse_existing` false an artifact that already exists fails the commit with the
// artifact serializer's duplicate error, as upstream's upload commit does.
std::string CommitUploadToArtifact(AppContext& app, const std::string& upload_pk,
                                   const std::string& expected_sha256, bool reuse_existing);

// Registers pulpcore.app.tasks.upload.commit.
void RegisterUploadTask(tasking::TaskRegistry& registry);
}  // namespace endpoints
}  // namespace pulp::core
