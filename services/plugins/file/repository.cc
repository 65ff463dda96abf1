#include "services/plugins/file/repository.h"

#include <pqxx/pqxx>

#include "services/core/app_context.h"
#include "services/plugins/file/publication.h"

namespace pulp::plugins::file {

core::models::RepositoryType FileRepositoryType(const core::AppContext& app) {
  namespace http = core::http;
  using core::Json;
  core::models::RepositoryType t;
  t.pulp_type = "file.file";
  t.component = "file";
  t.href_prefix = app.ApiV3() + "repositories/file/file/";
  t.prn_type = "file.filerepository";
  t.id_prefix = "repositories_file_file";
  t.href_param = "file_file_repository_href";
  t.version_href_param = "file_file_repository_version_href";
  t.tag = "Repositories: File";
  t.serializer = "FileRepositorySerializer";
  t.schema = "file.FileRepository";
  t.detail_table = "file_filerepository";
  t.detail_fields = {
      {{"autopublish", http::Field::kBoolean},
       false,
       Json{{"type", "boolean"},
            {"default", false},
            {"description",
             "Whether to automatically create publications for new repository versions."}}},
      {{"manifest", http::Field::kString, false, true, true},
       "PULP_MANIFEST",
       Json{{"type", "string"},
            {"nullable", true},
            {"default", "PULP_MANIFEST"},
            {"description",
             "Filename to use for manifest file containing metadata for all the files."}}},
      {{"last_sync_details", http::Field::kObject},
       Json::object(),
       Json{{"type", "object"}, {"readOnly", true}, {"description", "Last sync details."}},
       /*read_only=*/true},
  };
  t.content_types = {"file.file"};
  t.remote_types = {"file.file"};
  // FileRepository.on_new_version: autopublish in the same transaction as the version.
  t.on_new_version = [](core::AppContext& app, pqxx::transaction_base& tx,
                        const std::string& repository_pk,
                        int number) -> core::models::CreatedResources {
    pqxx::result r = tx.exec(
        "SELECT f.autopublish, f.manifest, v.pulp_id::text FROM file_filerepository f JOIN"
        " core_repositoryversion v ON v.repository_id = f.repository_ptr_id WHERE"
        " f.repository_ptr_id = " +
        tx.quote(repository_pk) + "::uuid AND v.number = " + std::to_string(number));
    if (r.empty() || !r[0][0].as<bool>()) return {};
    const Json manifest = r[0][1].is_null() ? Json(nullptr) : Json(r[0][1].as<std::string>());
    return {PublishVersion(app, tx, r[0][2].as<std::string>(), manifest)};
  };
  return t;
}

core::models::RemoteType FileRemoteType(const core::AppContext& app) {
  core::models::RemoteType t;
  t.pulp_type = "file.file";
  t.component = "file";
  t.href_prefix = app.ApiV3() + "remotes/file/file/";
  t.prn_type = "file.fileremote";
  t.id_prefix = "remotes_file_file";
  t.href_param = "file_file_remote_href";
  t.tag = "Remotes: File";
  t.serializer = "FileRemoteSerializer";
  t.schema = "file.FileRemote";
  return t;
}

}  // namespace pulp::plugins::file
