#include "services/plugins/file/publication.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/publications.h"
#include "services/core/models/publication.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::plugins::file {

using core::Json;

constexpr char kPublishTask[] = "pulp_file.app.tasks.publishing.publish";

core::models::PublicationType FilePublicationType(const core::AppContext& app) {
  core::models::PublicationType t;
  t.pulp_type = "file.file";
  t.component = "file";
  t.href_prefix = app.ApiV3() + "publications/file/file/";
  t.prn_type = "file.filepublication";
  t.id_prefix = "publications_file_file";
  t.href_param = "file_file_publication_href";
  t.tag = "Publications: File";
  t.schema = "file.FilePublication";
  t.publish_task = kPublishTask;
  t.repository_type = "file.file";
  return t;
}

core::models::DistributionType FileDistributionType(const core::AppContext& app) {
  core::models::DistributionType t;
  t.pulp_type = "file.file";
  t.component = "file";
  t.href_prefix = app.ApiV3() + "distributions/file/file/";
  t.prn_type = "file.filedistribution";
  t.id_prefix = "distributions_file_file";
  t.href_param = "file_file_distribution_href";
  t.tag = "Distributions: File";
  t.serializer = "FileDistributionSerializer";
  t.schema = "file.FileDistribution";
  t.publication_type = "file.file";
  return t;
}

namespace {

std::pair<std::string, std::string> PublicationRef(core::AppContext& app, const std::string& pk) {
  const auto& type = *app.publication_types.at("file.file");
  return {type.href_prefix + pk + "/", "prn:" + type.prn_type + ":" + pk};
}

}  // namespace

std::pair<std::string, std::string> PublishVersion(core::AppContext& app,
                                                   pqxx::transaction_base& tx,
                                                   const std::string& version_pk,
                                                   const Json& manifest) {
  pqxx::result v = tx.exec(
      "SELECT repository_id::text, number FROM core_repositoryversion"
      " WHERE complete AND pulp_id = " +
      tx.quote(version_pk) + "::uuid");
  if (v.empty()) throw std::runtime_error("The repository version no longer exists.");
  const std::string pub =
      core::models::CreatePublication(app, tx, "file.file", version_pk, manifest);
  if (manifest.is_string()) {
    const int n = v[0][1].as<int>();
    pqxx::result files = tx.exec(
        absl::StrCat("SELECT f.relative_path, f.digest, COALESCE(a.size, (SELECT ra.size FROM"
                     " core_remoteartifact ra WHERE ra.content_artifact_id = ca.pulp_id LIMIT 1))"
                     " FROM core_repositorycontent rc"
                     " JOIN file_filecontent f ON f.content_ptr_id = rc.content_id"
                     " JOIN core_content c ON c.pulp_id = rc.content_id"
                     " LEFT JOIN core_contentartifact ca ON ca.content_id = rc.content_id"
                     " LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id"
                     " WHERE rc.repository_id = ",
                     tx.quote(v[0][0].as<std::string>()), "::uuid AND rc.version_added <= ", n,
                     " AND (rc.version_removed IS NULL OR rc.version_removed > ", n,
                     ") ORDER BY c.pulp_created DESC, c.pulp_id DESC"));
    std::string text;
    for (const auto& row : files) {
      absl::StrAppend(&text, row[0].as<std::string>(), ",", row[1].as<std::string>(), ",",
                      row[2].is_null() ? std::string("") : row[2].as<std::string>(), "\n");
    }
    core::models::AddPublishedMetadata(app, tx, pub, manifest.get<std::string>(), text);
  }
  core::models::FinishPublication(tx, pub);
  return PublicationRef(app, pub);
}

std::pair<std::string, std::string> PublishMirror(core::AppContext& app, pqxx::transaction_base& tx,
                                                  const std::string& version_pk,
                                                  const std::string& manifest_name,
                                                  const std::string& manifest_text) {
  const std::string pub =
      core::models::CreatePublication(app, tx, "file.file", version_pk, manifest_name);
  core::models::AddPublishedMetadata(app, tx, pub, manifest_name, manifest_text);
  core::models::FinishPublication(tx, pub);
  return PublicationRef(app, pub);
}

void RegisterPublishTask(core::tasking::TaskRegistry& registry) {
  registry.Register(
      kPublishTask, [](core::tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
        core::AppContext& app = ctx.app();
        auto lease = app.pool->Acquire();
        if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
        pqxx::work tx(**lease);
        auto [href, prn] = PublishVersion(app, tx, kwargs.at("repository_version_pk"),
                                          kwargs.value("manifest", Json("PULP_MANIFEST")));
        auto type = app.publication_types.at("file.file");
        Json result = *core::http::FetchOne(core::endpoints::PublicationListSpec(app, *type), tx,
                                            prn.substr(prn.rfind(':') + 1));
        tx.commit();
        ctx.AddCreatedResource(href, prn);
        return result;
      });
}

}  // namespace pulp::plugins::file
