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

void RegisterPublishTask(core::tasking::TaskRegistry& registry) {
  registry.Register(kPublishTask, [](core::tasking::TaskContext& ctx, const Json&,
                                     const Json& kwargs) {
    core::AppContext& app = ctx.app();
    const std::string version_pk = kwargs.at("repository_version_pk");
    const Json manifest = kwargs.value("manifest", Json("PULP_MANIFEST"));
    auto lease = app.pool->Acquire();
    if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
    pqxx::work tx(**lease);
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
          absl::StrCat("SELECT f.relative_path, f.digest, a.size FROM core_repositorycontent rc"
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
    auto type = app.publication_types.at("file.file");
    Json result = *core::http::FetchOne(core::endpoints::PublicationListSpec(app, *type), tx, pub);
    tx.commit();
    ctx.AddCreatedResource(result["pulp_href"], result["prn"]);
    return result;
  });
}

}  // namespace pulp::plugins::file
