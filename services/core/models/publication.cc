#include "services/core/models/publication.h"

#include <pqxx/pqxx>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/models/artifact.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/util/uuid.h"

namespace pulp::core::models {

std::string CreatePublication(AppContext& app, pqxx::transaction_base& tx,
                              const std::string& pulp_type, const std::string& version_pk,
                              const Json& manifest) {
  const std::string pk = NewUuid();
  tx.exec(absl::StrCat(
      "INSERT INTO core_publication (pulp_id, pulp_domain_id, pulp_type, repository_version_id,"
      " manifest) VALUES (",
      tx.quote(pk), ", ", tx.quote(app.default_domain_id), ", ", tx.quote(pulp_type), ", ",
      tx.quote(version_pk), "::uuid, ",
      manifest.is_string() ? tx.quote(manifest.get<std::string>()) : "NULL", ")"));
  return pk;
}

void AddPublishedMetadata(AppContext& app, pqxx::transaction_base& tx,
                          const std::string& publication_pk, const std::string& relative_path,
                          const std::string& bytes) {
  auto writer = app.store->NewWriter();
  if (!writer.ok()) throw std::runtime_error(std::string(writer.status().message()));
  if (auto st = (*writer)->Write(bytes.data(), bytes.size()); !st.ok()) {
    throw std::runtime_error(std::string(st.message()));
  }
  const std::string artifact = SaveArtifact(app, tx, **writer, /*reuse_existing=*/true).pk;
  tx.exec(
      absl::StrCat("INSERT INTO core_publishedmetadata (pulp_id, publication_id,"
                   " relative_path, artifact_id) VALUES (",
                   tx.quote(NewUuid()), ", ", tx.quote(publication_pk), "::uuid, ",
                   tx.quote(relative_path), ", ", tx.quote(artifact), "::uuid)"));
}

void FinishPublication(pqxx::transaction_base& tx, const std::string& publication_pk) {
  tx.exec(
      "UPDATE core_publication SET complete = TRUE, pulp_last_updated = clock_timestamp()"
      " WHERE pulp_id = " +
      tx.quote(publication_pk) + "::uuid");
}

}  // namespace pulp::core::models
