#pragma once

#include <string>

#include "services/core/http/listing.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;
namespace storage {
class FileWriter;
}

namespace models {

struct SavedArtifact {
  std::string pk;
  bool created = false;
};

// Moves a finished upload into artifact storage and records it. With `reuse_existing`, an
// artifact with the same sha256 is returned instead (uploads, content create); without it a
// duplicate is upstream's 400 "Artifact with sha256 checksum of '...' already exists.".
SavedArtifact SaveArtifact(AppContext& app, pqxx::transaction_base& tx, storage::FileWriter& writer,
                           bool reuse_existing);

// Listing/serialization of core_artifact rows.
http::ListSpec ArtifactListSpec(const AppContext& app);
std::string ArtifactHref(const AppContext& app, const std::string& pk);
std::string ArtifactPrn(const std::string& pk);

// The pk of an artifact given by href or PRN, if it exists.
std::optional<std::string> ResolveArtifact(const AppContext& app, pqxx::transaction_base& tx,
                                           const std::string& ref);

}  // namespace models
}  // namespace pulp::core
