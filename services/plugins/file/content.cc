#include "services/plugins/file/content.h"

#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/labels.h"
#include "services/core/endpoints/uploads.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/artifact.h"
#include "services/core/models/relative_path.h"
#include "services/core/models/repository.h"
#include "services/core/models/repository_version.h"
#include "services/core/openapi/schema.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::plugins::file {
namespace {

using core::AppContext;
using core::Json;
namespace http = core::http;

constexpr char kPulpType[] = "file.file";
constexpr char kPrnType[] = "file.filecontent";

std::string ContentPrefix(const AppContext& app) { return app.ApiV3() + "content/file/files/"; }

http::ListSpec ContentListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "FileContent";
  spec.from =
      "file_filecontent f JOIN core_content t ON t.pulp_id = f.content_ptr_id"
      " LEFT JOIN core_contentartifact ca ON ca.content_id = t.pulp_id"
      " LEFT JOIN core_artifact a ON a.pulp_id = ca.artifact_id";
  spec.filter_from = "file_filecontent f JOIN core_content t ON t.pulp_id = f.content_ptr_id";
  spec.count_from = "file_filecontent f";
  spec.columns = absl::StrCat(
      core::endpoints::kModelColumns,
      ", t.pulp_labels::text AS pulp_labels, a.pulp_id::text AS artifact_id, f.relative_path,"
      " a.md5, a.sha1, a.sha224, a.sha256, a.sha384, a.sha512");
  spec.href_prefix = ContentPrefix(app);
  spec.prn_type = kPrnType;
  spec.labels_column = "t.pulp_labels";
  using F = http::FilterDef;
  spec.filters = {
      {"relative_path", "f.relative_path", F::kText, http::NameLookups()},
      {"digest", "f.digest", F::kText, {""}},
      {"sha256", "f.digest", F::kText, {""}},
  };
  using core::models::Membership;
  for (const auto& [name, which] :
       {std::pair{"repository_version", Membership::kPresent},
        std::pair{"repository_version_added", Membership::kAdded},
        std::pair{"repository_version_removed", Membership::kRemoved}}) {
    spec.filters.push_back(core::models::RepositoryVersionFilter(app, name, which, "t.pulp_id"));
  }
  const int protection = app.settings.orphan_protection_time;
  spec.filters.push_back(
      {"orphaned_for",
       "",
       F::kCustom,
       {""},
       {},
       [protection](const std::string& v, pqxx::transaction_base&) -> std::string {
         double minutes;
         if (!absl::SimpleAtod(v, &minutes))
           throw http::FieldError("orphaned_for", "Enter a number.");
         if (minutes < 0) minutes = protection;
         return absl::StrCat(
             "NOT EXISTS (SELECT 1 FROM core_repositorycontent rc WHERE rc.content_id ="
             " t.pulp_id) AND t.timestamp_of_interest < now() - interval '1 minute' * ",
             minutes);
       }});
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"pulp_type", "t.pulp_type"},
                   {"upstream_id", "t.upstream_id"},
                   {"timestamp_of_interest", "t.timestamp_of_interest"},
                   {"relative_path", "f.relative_path"},
                   {"digest", "f.digest"}};
  const std::string prefix = spec.href_prefix;
  const std::string artifacts = app.ApiV3() + "artifacts/";
  spec.serialize = [prefix, artifacts](const pqxx::row& row) {
    Json j = core::endpoints::ModelFields(row, prefix, kPrnType);
    j["pulp_labels"] = Json::parse(row["pulp_labels"].as<std::string>());
    j["vuln_report"] = nullptr;
    j["artifact"] = row["artifact_id"].is_null()
                        ? Json(nullptr)
                        : Json(artifacts + row["artifact_id"].as<std::string>() + "/");
    j["relative_path"] = row["relative_path"].as<std::string>();
    for (const char* alg : {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}) {
      j[alg] = core::endpoints::TextOrNull(row, alg);
    }
    return j;
  };
  return spec;
}

std::vector<http::Field> CreateFields(bool with_repository) {
  std::vector<http::Field> fields = {
      {"relative_path", http::Field::kString, true},
      {"file", http::Field::kFile},
      {"artifact", http::Field::kString, false, true},
      {"upload", http::Field::kString, false, true},
      {"file_url", http::Field::kString, false, true},
      {"pulp_labels", http::Field::kLabels},
      {"overwrite", http::Field::kBoolean},
      {"downloader_config", http::Field::kObject, false, true},
  };
  if (with_repository) fields.push_back({"repository", http::Field::kString, false, true});
  return fields;
}

// Validates what the serializer validates before dispatch; returns the task's data.
Json ValidateCreate(AppContext& app, http::RequestData& data, bool with_repository,
                    std::unique_ptr<core::storage::FileWriter>& writer) {
  Json in = http::ValidateFields(data, CreateFields(with_repository));
  Json errors = Json::object();
  if (std::string err = core::models::RelativePathError(in["relative_path"].get<std::string>());
      !err.empty()) {
    errors["relative_path"] = {err};
  }
  int sources = 0;
  for (const char* k : {"file", "artifact", "upload", "file_url"}) {
    if (in.contains(k) && !in[k].is_null()) ++sources;
  }
  if (sources != 1) {
    errors["non_field_errors"] = {
        "Exactly one of file, upload, artifact, file_url must be specified."};
  }
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::read_transaction tx(**lease);
  std::string artifact_pk;
  if (in.contains("artifact") && !in["artifact"].is_null()) {
    const std::string ref = in["artifact"];
    if (auto pk = core::models::ResolveArtifact(app, tx, ref)) {
      artifact_pk = *pk;
    } else {
      const bool shaped = !http::PkFromHref(ref, app.ApiV3() + "artifacts/").empty() ||
                          !http::PkFromPrn(ref, "core.artifact").empty();
      errors["artifact"] = {shaped ? "Invalid hyperlink - Object does not exist."
                                   : "Invalid hyperlink - No URL match."};
    }
  }
  if (in.contains("upload") && !in["upload"].is_null()) {
    const std::string ref = in["upload"];
    std::string pk = absl::StartsWith(ref, "prn:")
                         ? http::PkFromPrn(ref, "core.upload")
                         : http::PkFromHref(ref, app.ApiV3() + "uploads/");
    if (pk.empty()) {
      errors["upload"] = {"Invalid hyperlink - No URL match."};
    } else if (tx.exec("SELECT 1 FROM core_upload WHERE pulp_id = " + tx.quote(pk) + "::uuid")
                   .empty()) {
      errors["upload"] = {"Invalid hyperlink - Object does not exist."};
    } else {
      in["upload"] = pk;
    }
  }
  if (in.contains("file_url") && !in["file_url"].is_null()) {
    errors["file_url"] = {"Creating content from a URL is not supported by this server yet."};
  }
  if (in.contains("repository") && !in["repository"].is_null()) {
    const std::string ref = in["repository"];
    const std::string prefix = app.ApiV3() + "repositories/file/file/";
    std::string pk = absl::StartsWith(ref, "prn:") ? http::PkFromPrn(ref, "file.filerepository")
                                                   : http::PkFromHref(ref, prefix);
    if (pk.empty()) {
      errors["repository"] = {"Invalid hyperlink - No URL match."};
    } else if (tx.exec("SELECT 1 FROM core_repository WHERE pulp_id = " + tx.quote(pk) +
                       "::uuid AND pulp_type = 'file.file'")
                   .empty()) {
      errors["repository"] = {"Invalid hyperlink - Object does not exist."};
    } else {
      in["repository"] = pk;
    }
  }
  if (!errors.empty()) throw http::ApiError(400, errors);
  tx.commit();

  Json task_data = Json::object();
  task_data["relative_path"] = in["relative_path"];
  if (in.contains("pulp_labels")) task_data["pulp_labels"] = in["pulp_labels"];
  if (in.contains("upload") && !in["upload"].is_null()) task_data["upload"] = in["upload"];
  if (!artifact_pk.empty()) task_data["artifact"] = artifact_pk;
  if (in.contains("repository") && !in["repository"].is_null()) {
    task_data["repository"] = in["repository"];
  }
  if (writer) {
    // As upstream, the API process stores an uploaded file as an artifact before dispatching.
    pqxx::work wtx(**lease);
    task_data["artifact"] = core::models::SaveArtifact(app, wtx, *writer, true).pk;
    wtx.commit();
  }
  return task_data;
}

http::RequestData ReadWithFile(AppContext& app, http::Request& req,
                               std::unique_ptr<core::storage::FileWriter>& writer) {
  http::FileSinkFactory sinks = core::storage::WriterSinkFactory(*app.store, &writer);
  return http::ReadRequestData(req, sinks);
}

// Finds or creates the FileContent for (relative_path, artifact). Returns its pk.
std::string FindOrCreateContent(AppContext& app, pqxx::transaction_base& tx,
                                const std::string& relative_path, const std::string& artifact_pk,
                                const Json& labels) {
  pqxx::result art = tx.exec(
      "SELECT sha256 FROM core_artifact WHERE pulp_id = " + tx.quote(artifact_pk) + "::uuid");
  if (art.empty()) throw std::runtime_error("The artifact no longer exists.");
  const std::string digest = art[0][0].as<std::string>();
  pqxx::result existing = tx.exec(
      absl::StrCat("SELECT content_ptr_id::text FROM file_filecontent WHERE relative_path = ",
                   tx.quote(relative_path), " AND digest = ", tx.quote(digest),
                   " AND pulp_domain_id = ", tx.quote(app.default_domain_id), " FOR UPDATE"));
  if (!existing.empty()) {
    const std::string pk = existing[0][0].as<std::string>();
    tx.exec("UPDATE core_content SET timestamp_of_interest = clock_timestamp() WHERE pulp_id = " +
            tx.quote(pk));
    return pk;
  }
  const std::string pk = core::NewUuid();
  tx.exec(absl::StrCat(
      "INSERT INTO core_content (pulp_id, pulp_domain_id, pulp_type, pulp_labels)"
      " VALUES (",
      tx.quote(pk), ", ", tx.quote(app.default_domain_id), ", ", tx.quote(kPulpType), ", ",
      tx.quote(core::DumpJson(labels.is_object() ? labels : Json::object())), "::jsonb)"));
  tx.exec(
      absl::StrCat("INSERT INTO file_filecontent (content_ptr_id, relative_path, digest,"
                   " pulp_domain_id) VALUES (",
                   tx.quote(pk), ", ", tx.quote(relative_path), ", ", tx.quote(digest), ", ",
                   tx.quote(app.default_domain_id), ")"));
  tx.exec(
      absl::StrCat("INSERT INTO core_contentartifact (pulp_id, content_id, artifact_id,"
                   " relative_path) VALUES (",
                   tx.quote(core::NewUuid()), ", ", tx.quote(pk), ", ", tx.quote(artifact_pk), ", ",
                   tx.quote(relative_path), ")"));
  return pk;
}

// The body of general_create for FileContentSerializer: data holds relative_path and either
// an artifact pk or an upload pk.
Json CreateContent(AppContext& app, const Json& data, std::string* pk_out) {
  if (!data.is_object() || !data.contains("relative_path") || !data["relative_path"].is_string()) {
    throw std::runtime_error("general_create: data.relative_path missing");
  }
  std::string artifact_pk;
  if (data.contains("upload")) {
    artifact_pk = core::endpoints::CommitUploadToArtifact(app, data["upload"], "", true);
  } else if (data.contains("artifact") && data["artifact"].is_string()) {
    artifact_pk = data["artifact"];
  } else {
    throw std::runtime_error("general_create: data needs an artifact or an upload");
  }
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  std::string pk;
  // Two tasks creating the same unit race on the unique key; the loser retries and finds it.
  for (int attempt = 0;; ++attempt) {
    try {
      pqxx::work tx(**lease);
      pk = FindOrCreateContent(app, tx, data["relative_path"], artifact_pk,
                               data.value("pulp_labels", Json::object()));
      tx.commit();
      break;
    } catch (const pqxx::unique_violation&) {
      if (attempt >= 2) throw;
    }
  }
  pqxx::read_transaction tx(**lease);
  *pk_out = pk;
  return *http::FetchOne(ContentListSpec(app), tx, pk);
}

http::Response Create(AppContext& app, http::Request& req) {
  std::unique_ptr<core::storage::FileWriter> writer;
  http::RequestData data = ReadWithFile(app, req, writer);
  Json task_data = ValidateCreate(app, data, /*with_repository=*/true, writer);
  core::tasking::DispatchRequest task =
      core::endpoints::TaskFrom(req, core::tasking::kGeneralCreate);
  task.args = Json::array({"file", "FileContentSerializer"});
  task.kwargs = {{"data", task_data}, {"context", Json::object()}};
  if (task_data.contains("upload")) {
    task.exclusive_resources.push_back("prn:core.upload:" + task_data["upload"].get<std::string>());
  }
  if (task_data.contains("repository")) {
    task.exclusive_resources.push_back("prn:file.filerepository:" +
                                       task_data["repository"].get<std::string>());
  }
  return core::endpoints::TaskAccepted(app, app.dispatcher->Dispatch(task));
}

http::Response Upload(AppContext& app, http::Request& req) {
  std::unique_ptr<core::storage::FileWriter> writer;
  http::RequestData data = ReadWithFile(app, req, writer);
  Json task_data = ValidateCreate(app, data, /*with_repository=*/false, writer);
  std::string pk;
  try {
    return core::endpoints::Created(CreateContent(app, task_data, &pk));
  } catch (const std::runtime_error& e) {
    throw http::BareValidationError(e.what());
  }
}

void RegisterSchemas(AppContext& app) {
  Json out = core::openapi::ModelResponseProperties();
  out["pulp_labels"] = {{"type", "object"},
                        {"additionalProperties", {{"type", "string"}, {"nullable", true}}}};
  out["vuln_report"] = {{"type", "string"}, {"readOnly", true}, {"nullable", true}};
  out["artifact"] = {{"type", "string"},
                     {"format", "uri"},
                     {"nullable", true},
                     {"description", "Artifact file representing the physical content"}};
  out["relative_path"] = {
      {"type", "string"},
      {"description", "Path where the artifact is located relative to distributions base_path"}};
  for (const char* alg : {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}) {
    out[alg] = {{"type", "string"}, {"readOnly", true}, {"nullable", true}};
  }
  app.schemas["file.FileContentResponse"] = {
      {"type", "object"}, {"properties", out}, {"required", {"relative_path"}}};
  Json in = {
      {"repository",
       {{"type", "string"},
        {"format", "uri"},
        {"writeOnly", true},
        {"description", "A URI of a repository the new content unit should be associated with."}}},
      {"pulp_labels",
       {{"type", "object"}, {"additionalProperties", {{"type", "string"}, {"nullable", true}}}}},
      {"artifact",
       {{"type", "string"},
        {"format", "uri"},
        {"description", "Artifact file representing the physical content"}}},
      {"relative_path", {{"type", "string"}, {"minLength", 1}}},
      {"file",
       {{"type", "string"},
        {"format", "binary"},
        {"writeOnly", true},
        {"description", "An uploaded file that may be turned into the content unit."}}},
      {"upload",
       {{"type", "string"},
        {"format", "uri"},
        {"writeOnly", true},
        {"description", "An uncommitted upload that may be turned into the content unit."}}},
      {"file_url", {{"type", "string"}, {"format", "uri"}, {"writeOnly", true}, {"minLength", 1}}},
      {"downloader_config", {{"type", "object"}, {"writeOnly", true}}},
      {"overwrite", {{"type", "boolean"}, {"writeOnly", true}, {"default", true}}}};
  app.schemas["file.FileContent"] = {
      {"type", "object"}, {"properties", in}, {"required", {"relative_path"}}};
  Json upload_in = in;
  upload_in.erase("repository");
  app.schemas["file.FileContentUpload"] = {
      {"type", "object"}, {"properties", upload_in}, {"required", {"relative_path"}}};
}

}  // namespace

void RegisterContentType(AppContext& app) {
  app.content_types[kPulpType] = {kPulpType,          ContentPrefix(app), kPrnType,
                                  "file_filecontent", "relative_path",    "content_ptr_id"};
}

void RegisterContentRoutes(AppContext& app, http::Router& router) {
  RegisterSchemas(app);
  const std::string list = ContentPrefix(app);
  const std::string tag = "Content: Files";
  auto spec = std::make_shared<http::ListSpec>(ContentListSpec(app));
  const core::endpoints::ResourceDoc doc{
      "content_file_files",      "file", tag, "file content", "file_file_content_href",
      "file.FileContentResponse"};
  core::endpoints::AddListRoute(app, router, spec, doc);
  router.Add(
      {"POST",
       list,
       "",
       {"content_file_files_create",
        "create",
        "file",
        tag,
        "Trigger an asynchronous task to create content, optionally create new repository version.",
        {},
        core::openapi::RequestBody("file.FileContent", core::openapi::kFormsOnly),
        {{"202", core::openapi::AsyncResponse(app.schemas)}}},
       [&app](http::Request& r) { return Create(app, r); }});
  core::endpoints::AddReadRoute(app, router, spec, doc);
  core::endpoints::AddLabelRoutes(app, router, list, "core_content", "FileContent", doc);
  router.Add(
      {"POST",
       list + "upload/",
       "",
       {"content_file_files_upload",
        "upload",
        "file",
        tag,
        "Synchronously upload a file and create the content unit.",
        {},
        core::openapi::RequestBody("file.FileContentUpload", core::openapi::kFormsOnly),
        {{"201", core::openapi::JsonResponse("", core::openapi::Ref("file.FileContentResponse"))}}},
       [&app](http::Request& r) { return Upload(app, r); }});
}

void RegisterContentTasks(core::tasking::TaskRegistry& registry) {
  registry.RegisterSerializerTask(
      core::tasking::kGeneralCreate, "file", "FileContentSerializer",
      [](core::tasking::TaskContext& ctx, const Json&, const Json& kwargs) {
        const Json data = kwargs.value("data", Json::object());
        std::string pk;
        Json result = CreateContent(ctx.app(), data, &pk);
        if (data.contains("repository")) {
          // A new repository version holding the unit (replacing any at the same path).
          auto lease = ctx.app().pool->Acquire();
          if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
          pqxx::work tx(**lease);
          const std::string repo = data["repository"];
          if (auto number =
                  core::models::CreateVersion(ctx.app(), tx, repo, std::nullopt, {pk}, {}, false)) {
            auto [href, prn] = core::models::VersionHrefAndPrn(ctx.app(), tx, repo, *number);
            ctx.AddCreatedResource(href, prn);
            for (const auto& [h, p] :
                 core::models::FinishNewVersion(ctx.app(), tx, repo, *number)) {
              ctx.AddCreatedResource(h, p);
            }
          }
          tx.commit();
        }
        ctx.AddCreatedResource(result["pulp_href"], result["prn"]);
        return result;
      });
}

}  // namespace pulp::plugins::file
