#include "services/core/models/artifact.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/endpoints/common.h"
#include "services/core/http/errors.h"
#include "services/core/models/repository_version.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/storage/digests.h"
#include "services/core/util/uuid.h"

namespace pulp::core::models {

std::string ArtifactHref(const AppContext& app, const std::string& pk) {
  return absl::StrCat(app.ApiV3(), "artifacts/", pk, "/");
}

std::string ArtifactPrn(const std::string& pk) { return "prn:core.artifact:" + pk; }

SavedArtifact SaveArtifact(AppContext& app, pqxx::transaction_base& tx, storage::FileWriter& writer,
                           bool reuse_existing) {
  if (auto st = writer.Finish(); !st.ok()) throw http::FromStatus(st);
  const std::string& sha256 = writer.digests().at("sha256");
  pqxx::result existing = tx.exec(
      absl::StrCat("SELECT pulp_id::text FROM core_artifact WHERE sha256 = ", tx.quote(sha256),
                   " AND pulp_domain_id = ", tx.quote(app.default_domain_id)));
  if (!existing.empty()) {
    if (!reuse_existing) {
      throw http::NonFieldError(
          absl::StrCat("Artifact with sha256 checksum of '", sha256, "' already exists."));
    }
    tx.exec(
        absl::StrCat("UPDATE core_artifact SET timestamp_of_interest = clock_timestamp()"
                     " WHERE pulp_id = ",
                     tx.quote(existing[0][0].as<std::string>())));
    return {existing[0][0].as<std::string>(), false};
  }
  auto name = app.store->CommitArtifact(writer);
  if (!name.ok()) throw http::FromStatus(name.status());
  auto digest = [&](const std::string& alg) {
    auto it = writer.digests().find(alg);
    return it == writer.digests().end() || !app.settings.ChecksumAllowed(alg)
               ? std::string("NULL")
               : tx.quote(it->second);
  };
  const std::string pk = NewUuid();
  pqxx::result inserted = tx.exec(absl::StrCat(
      "INSERT INTO core_artifact (pulp_id, pulp_domain_id, file, size, md5, sha1, sha224, sha256,"
      " sha384, sha512) VALUES (",
      tx.quote(pk), ", ", tx.quote(app.default_domain_id), ", ", tx.quote(*name), ", ",
      writer.size(), ", ", digest("md5"), ", ", digest("sha1"), ", ", digest("sha224"), ", ",
      tx.quote(sha256), ", ", digest("sha384"), ", ", digest("sha512"),
      ") ON CONFLICT (sha256, pulp_domain_id) DO NOTHING RETURNING pulp_id::text"));
  if (inserted.empty()) {
    // Another request stored the same bytes a moment ago: same file, same answer.
    if (!reuse_existing) {
      throw http::NonFieldError(
          absl::StrCat("Artifact with sha256 checksum of '", sha256, "' already exists."));
    }
    pqxx::result row = tx.exec(
        absl::StrCat("SELECT pulp_id::text FROM core_artifact WHERE sha256 = ", tx.quote(sha256)));
    return {row[0][0].as<std::string>(), false};
  }
  return {pk, true};
}

http::ListSpec ArtifactListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "Artifact";
  spec.from = "core_artifact t";
  spec.columns =
      absl::StrCat(endpoints::kModelColumns,
                   ", t.file, t.size, t.md5, t.sha1, t.sha224, t.sha256, t.sha384, t.sha512");
  spec.href_prefix = app.ApiV3() + "artifacts/";
  spec.prn_type = "core.artifact";
  for (const std::string& alg : storage::AllChecksums()) {
    spec.filters.push_back({alg, "t." + alg, http::FilterDef::kText, {""}});
  }
  const int protection = app.settings.orphan_protection_time;
  spec.filters.push_back(
      {"orphaned_for",
       "",
       http::FilterDef::kCustom,
       {""},
       {},
       [protection](const std::string& v, pqxx::transaction_base& tx) -> std::string {
         double minutes;
         if (!absl::SimpleAtod(v, &minutes))
           throw http::FieldError("orphaned_for", "Enter a number.");
         if (minutes < 0) minutes = protection;
         return absl::StrCat(
             "NOT EXISTS (SELECT 1 FROM core_contentartifact ca WHERE ca.artifact_id = t.pulp_id)"
             " AND t.timestamp_of_interest < now() - interval '1 minute' * ",
             minutes);
       },
       "Minutes Artifacts have been orphaned for. -1 uses ORPHAN_PROTECTION_TIME."});
  spec.filters.push_back(RepositoryVersionFilter(app, "repository_version", Membership::kPresent,
                                                 "t.pulp_id", /*via_artifact=*/true));
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"md5", "t.md5"},
                   {"sha1", "t.sha1"},
                   {"sha224", "t.sha224"},
                   {"sha384", "t.sha384"},
                   {"sha512", "t.sha512"},
                   {"timestamp_of_interest", "t.timestamp_of_interest"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"size", "t.size"},
                   {"file", "t.file"},
                   {"sha256", "t.sha256"}};
  const std::string prefix = spec.href_prefix;
  spec.serialize = [prefix](const pqxx::row& row) {
    Json j = endpoints::ModelFields(row, prefix, "core.artifact");
    j["file"] = row["file"].as<std::string>();
    j["size"] = row["size"].as<int64_t>();
    for (const char* alg : {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}) {
      j[alg] = endpoints::TextOrNull(row, alg);
    }
    return j;
  };
  return spec;
}

std::optional<std::string> ResolveArtifact(const AppContext& app, pqxx::transaction_base& tx,
                                           const std::string& ref) {
  std::string pk = absl::StartsWith(ref, "prn:")
                       ? http::PkFromPrn(ref, "core.artifact")
                       : http::PkFromHref(ref, app.ApiV3() + "artifacts/");
  if (pk.empty()) return std::nullopt;
  pqxx::result r =
      tx.exec(absl::StrCat("SELECT 1 FROM core_artifact WHERE pulp_id = ", tx.quote(pk), "::uuid"));
  if (r.empty()) return std::nullopt;
  return pk;
}

}  // namespace pulp::core::models
