#include "services/plugins/file/repository.h"

#include "services/core/app_context.h"

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
  };
  t.content_types = {"file.file"};
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
