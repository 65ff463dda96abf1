#pragma once

#include <string>

#include "services/core/util/json.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;
namespace models {

// Starts a publication of a repository version (incomplete until Finish).
std::string CreatePublication(AppContext& app, pqxx::transaction_base& tx,
                              const std::string& pulp_type, const std::string& version_pk,
                              const Json& manifest);

// Stores `bytes` as an artifact and serves it at `relative_path` of the publication.
void AddPublishedMetadata(AppContext& app, pqxx::transaction_base& tx,
                          const std::string& publication_pk, const std::string& relative_path,
                          const std::string& bytes);

// Makes a publication visible.
void FinishPublication(pqxx::transaction_base& tx, const std::string& publication_pk);

}  // namespace models
}  // namespace pulp::core
