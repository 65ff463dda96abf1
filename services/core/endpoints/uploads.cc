// /pulp/api/v3/uploads/: chunked uploads (create, PUT chunks with Content-Range, read with
// chunks, delete, commit into an artifact as a task).
#include <fcntl.h>
#include <unistd.h>

#include <pqxx/pqxx>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/endpoints/uploads.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/artifact.h"
#include "services/core/openapi/schema.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"

namespace pulp::core::endpoints {
namespace {

constexpr char kCommitTask[] = "pulpcore.app.tasks.upload.commit";

http::ListSpec UploadListSpec(const AppContext& app) {
  http::ListSpec spec;
  spec.model_name = "Upload";
  spec.from = "core_upload t";
  spec.columns = absl::StrCat(kModelColumns, ", t.size");
  spec.href_prefix = app.ApiV3() + "uploads/";
  spec.prn_type = "core.upload";
  spec.filters.push_back({"size", "t.size", http::FilterDef::kNumber, {"", "gt", "lt", "range"}});
  spec.ordering = {{"pulp_id", "t.pulp_id"},
                   {"pulp_created", "t.pulp_created"},
                   {"pulp_last_updated", "t.pulp_last_updated"},
                   {"size", "t.size"}};
  const std::string prefix = spec.href_prefix;
  spec.serialize = [prefix](const pqxx::row& row) {
    Json j = ModelFields(row, prefix, "core.upload");
    j["size"] = row["size"].as<int64_t>();
    return j;
  };
  return spec;
}

// Locks the upload row; 404 if it does not exist.
int64_t LockUpload(pqxx::transaction_base& tx, const std::string& pk) {
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  pqxx::result r = tx.exec(absl::StrCat(
      "SELECT size FROM core_upload WHERE pulp_id = ", tx.quote(pk), "::uuid FOR UPDATE"));
  if (r.empty()) throw http::NotFoundError("Upload");
  return r[0][0].as<int64_t>();
}

Json ReadUploadWithChunks(AppContext& app, pqxx::transaction_base& tx, const std::string& pk) {
  auto obj = http::FetchOne(UploadListSpec(app), tx, pk);
  if (!obj) throw http::NotFoundError("Upload");
  Json chunks = Json::array();
  for (const auto& row : tx.exec(absl::StrCat(
           "SELECT \"offset\", size FROM core_uploadchunk WHERE upload_id = ", tx.quote(pk),
           " ORDER BY \"offset\""))) {
    chunks.push_back({{"offset", row[0].as<int64_t>()}, {"size", row[1].as<int64_t>()}});
  }
  (*obj)["chunks"] = chunks;
  return *obj;
}

http::Response CreateUpload(AppContext& app, http::Request& req) {
  http::RequestData data = http::ReadRequestData(req);
  Json in = http::ValidateFields(data, {{"size", http::Field::kInteger, true, false, false, 0}});
  const std::string pk = NewUuid();
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  tx.exec(absl::StrCat("INSERT INTO core_upload (pulp_id, pulp_domain_id, size) VALUES (",
                       tx.quote(pk), ", ", tx.quote(app.default_domain_id), ", ",
                       in["size"].get<int64_t>(), ")"));
  Json obj = *http::FetchOne(UploadListSpec(app), tx, pk);
  tx.commit();
  return Created(obj);
}

http::Response PutChunk(AppContext& app, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
  static const std::regex kRange(R"(^bytes (\d+)-(\d+)/(\d+|[*])$)");
  std::smatch m;
  const std::string range = req.Header("content-range");
  int64_t start = 0, end = 0;
  if (!std::regex_match(range, m, kRange) || !absl::SimpleAtoi(m[1].str(), &start) ||
      !absl::SimpleAtoi(m[2].str(), &end)) {
    throw http::NonFieldError("Invalid or missing content range header.");
  }
  int64_t upload_size;
  {
    auto lease = app.pool->Acquire();
    if (!lease.ok()) throw http::FromStatus(lease.status());
    pqxx::read_transaction tx(**lease);
    pqxx::result r = tx.exec(
        absl::StrCat("SELECT size FROM core_upload WHERE pulp_id = ", tx.quote(pk), "::uuid"));
    if (r.empty()) throw http::NotFoundError("Upload");
    upload_size = r[0][0].as<int64_t>();
  }
  if (end > upload_size - 1) throw http::NonFieldError("End byte is greater than upload size.");

  std::unique_ptr<storage::FileWriter> writer;
  http::FileSinkFactory sinks = storage::WriterSinkFactory(*app.store, &writer);
  http::RequestData data = http::ReadRequestData(req, sinks);
  Json in = http::ValidateFields(
      data, {{"file", http::Field::kFile, true}, {"sha256", http::Field::kString, false, true}});
  if (auto st = writer->Finish(); !st.ok()) throw http::FromStatus(st);
  if (static_cast<int64_t>(writer->size()) != end - start + 1) {
    throw http::NonFieldError("Chunk size does not match content range.");
  }
  if (in.contains("sha256") && !in["sha256"].is_null() &&
      in["sha256"].get<std::string>() != writer->digests().at("sha256")) {
    throw http::BareValidationError("Checksum does not match chunk upload.");
  }
  const std::string chunk_pk = NewUuid();
  const std::string name = absl::StrCat(app.settings.chunked_upload_dir, "/", chunk_pk);
  if (auto st = app.store->CommitAs(*writer, name); !st.ok()) throw http::FromStatus(st);

  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  std::string replaced;
  Json obj;
  try {
    pqxx::work tx(**lease);
    LockUpload(tx, pk);
    pqxx::result old =
        tx.exec(absl::StrCat("DELETE FROM core_uploadchunk WHERE upload_id = ", tx.quote(pk),
                             " AND \"offset\" = ", start, " RETURNING file"));
    if (!old.empty()) replaced = old[0][0].as<std::string>();
    tx.exec(
        absl::StrCat("INSERT INTO core_uploadchunk (pulp_id, upload_id, \"offset\", size, file)"
                     " VALUES (",
                     tx.quote(chunk_pk), ", ", tx.quote(pk), ", ", start, ", ", writer->size(),
                     ", ", tx.quote(name), ")"));
    tx.exec(
        absl::StrCat("UPDATE core_upload SET pulp_last_updated = clock_timestamp()"
                     " WHERE pulp_id = ",
                     tx.quote(pk)));
    obj = *http::FetchOne(UploadListSpec(app), tx, pk);
    tx.commit();
  } catch (...) {
    (void)app.store->Remove(name);
    throw;
  }
  if (!replaced.empty()) (void)app.store->Remove(replaced);
  return http::Response::Json(200, obj);
}

// Deletes the upload row (chunks cascade) and then the chunk files.
void DeleteUpload(AppContext& app, pqxx::transaction_base& tx, const std::string& pk,
                  std::vector<std::string>* files) {
  for (const auto& row : tx.exec(
           absl::StrCat("SELECT file FROM core_uploadchunk WHERE upload_id = ", tx.quote(pk)))) {
    files->push_back(row[0].as<std::string>());
  }
  tx.exec(absl::StrCat("DELETE FROM core_upload WHERE pulp_id = ", tx.quote(pk)));
}

http::Response Delete(AppContext& app, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  std::vector<std::string> files;
  {
    pqxx::work tx(**lease);
    LockUpload(tx, pk);
    DeleteUpload(app, tx, pk, &files);
    tx.commit();
  }
  for (const auto& f : files) (void)app.store->Remove(f);
  return http::Response::Empty(204);
}

http::Response Commit(AppContext& app, http::Request& req) {
  const std::string pk = req.path_params["pulp_id"];
  Json in =
      http::ValidateFields(http::ReadRequestData(req),
                           {{"sha256", http::Field::kString, true, false, false, {}, {}, 128}});
  {
    auto lease = app.pool->Acquire();
    if (!lease.ok()) throw http::FromStatus(lease.status());
    pqxx::read_transaction tx(**lease);
    if (!http::FetchOne(UploadListSpec(app), tx, pk)) {
      if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
      throw http::NotFoundError("Upload");
    }
  }
  tasking::DispatchRequest task = TaskFrom(req, kCommitTask);
  task.args = Json::array({pk, in["sha256"]});
  task.kwargs = Json::object();
  task.exclusive_resources = {"prn:core.upload:" + pk};
  return TaskAccepted(app, app.dispatcher->Dispatch(task));
}

}  // namespace

// Concatenates an upload's chunks into a new artifact (or the existing one with that sha256).
// Shared by uploads/<id>/commit/ and content creation from an upload.
std::string CommitUploadToArtifact(AppContext& app, const std::string& upload_pk,
                                   const std::string& expected_sha256, bool reuse_existing) {
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  std::vector<std::string> files;
  std::string artifact_pk;
  {
    pqxx::work tx(**lease);
    const int64_t size = LockUpload(tx, upload_pk);
    auto writer = app.store->NewWriter();
    if (!writer.ok()) throw http::FromStatus(writer.status());
    int64_t expected_offset = 0;
    for (const auto& row : tx.exec(
             absl::StrCat("SELECT \"offset\", size, file FROM core_uploadchunk WHERE upload_id = ",
                          tx.quote(upload_pk), " ORDER BY \"offset\""))) {
      const int64_t offset = row[0].as<int64_t>();
      if (offset != expected_offset) {
        throw std::runtime_error("The upload's chunks do not cover the whole file.");
      }
      expected_offset += row[1].as<int64_t>();
      const std::string path = app.store->PathOf(row[2].as<std::string>());
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) throw std::runtime_error("Upload chunk is missing from storage.");
      char buf[1 << 16];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        if (auto st = (*writer)->Write(buf, static_cast<size_t>(n)); !st.ok()) {
          ::close(fd);
          throw std::runtime_error(std::string(st.message()));
        }
      }
      ::close(fd);
      if (n < 0) throw std::runtime_error("Could not read an upload chunk.");
    }
    if (expected_offset != size) {
      throw std::runtime_error("The upload's chunks do not cover the whole file.");
    }
    if (auto st = (*writer)->Finish(); !st.ok())
      throw std::runtime_error(std::string(st.message()));
    if (!expected_sha256.empty() && (*writer)->digests().at("sha256") != expected_sha256) {
      throw std::runtime_error("The sha256 checksum did not match.");
    }
    artifact_pk = models::SaveArtifact(app, tx, **writer, reuse_existing).pk;
    DeleteUpload(app, tx, upload_pk, &files);
    tx.commit();
  }
  for (const auto& f : files) (void)app.store->Remove(f);
  return artifact_pk;
}

void RegisterUploadTask(tasking::TaskRegistry& registry) {
  registry.Register(kCommitTask, [](tasking::TaskContext& ctx, const Json& args, const Json&) {
    if (!args.is_array() || args.size() != 2 || !args[0].is_string() || !args[1].is_string()) {
      throw std::runtime_error("commit: expected (upload_id, sha256) arguments");
    }
    const std::string pk = CommitUploadToArtifact(ctx.app(), args[0], args[1], false);
    ctx.AddCreatedResource(models::ArtifactHref(ctx.app(), pk), models::ArtifactPrn(pk));
    return Json(nullptr);
  });
}

void RegisterUploadRoutes(AppContext& app, http::Router& router) {
  const std::string list = app.ApiV3() + "uploads/";
  const std::string detail = list + "{pulp_id}/";
  Json props = openapi::ModelResponseProperties();
  props["size"] = {{"type", "integer"},
                   {"format", "int64"},
                   {"description", "The size of the upload in bytes."}};
  props["completed"] = {{"type", "string"}, {"format", "date-time"}, {"readOnly", true}};
  app.schemas["UploadResponse"] = {
      {"type", "object"}, {"properties", props}, {"required", {"size"}}};
  Json detail_props = props;
  const Json chunk = {
      {"type", "object"},
      {"properties", {{"offset", {{"type", "integer"}}}, {"size", {{"type", "integer"}}}}}};
  detail_props["chunks"] = {{"type", "array"}, {"readOnly", true}, {"items", chunk}};
  app.schemas["UploadDetailResponse"] = {
      {"type", "object"}, {"properties", detail_props}, {"required", {"size"}}};
  app.schemas["Upload"] = {{"type", "object"},
                           {"properties", {{"size", {{"type", "integer"}, {"format", "int64"}}}}},
                           {"required", {"size"}}};
  app.schemas["UploadChunk"] = {
      {"type", "object"},
      {"properties",
       {{"file", {{"type", "string"}, {"format", "binary"}}},
        {"sha256", {{"type", "string"}, {"nullable", true}, {"minLength", 1}}}}},
      {"required", {"file"}}};
  app.schemas["UploadCommit"] = {
      {"type", "object"},
      {"properties", {{"sha256", {{"type", "string"}, {"minLength", 1}}}}},
      {"required", {"sha256"}}};

  auto spec = std::make_shared<http::ListSpec>(UploadListSpec(app));
  AddListRoute(app, router, spec,
               {"uploads", "core", "Uploads", "upload", "upload_href", "UploadResponse"});
  router.Add({"POST",
              list,
              "",
              {"uploads_create",
               "create",
               "core",
               "Uploads",
               "Create an upload",
               {},
               openapi::RequestBody("Upload", openapi::kJsonAndForms),
               {{"201", openapi::JsonResponse("", openapi::Ref("UploadResponse"))}}},
              [&app](http::Request& r) { return CreateUpload(app, r); }});
  router.Add({"GET",
              detail,
              "upload_href",
              {"uploads_read",
               "read",
               "core",
               "Uploads",
               "Inspect an upload",
               http::FieldSelectionParameters(),
               nullptr,
               {{"200", openapi::JsonResponse("", openapi::Ref("UploadDetailResponse"))}}},
              [&app](http::Request& r) {
                const std::string pk = r.path_params["pulp_id"];
                if (!IsUuid(pk)) throw http::DetailError(404, "Not found.");
                auto lease = app.pool->Acquire();
                if (!lease.ok()) throw http::FromStatus(lease.status());
                pqxx::read_transaction tx(**lease);
                return http::Response::Json(
                    200, http::SelectFields(ReadUploadWithChunks(app, tx, pk), r));
              }});
  router.Add(
      {"PUT",
       detail,
       "upload_href",
       {"uploads_update",
        "update",
        "core",
        "Uploads",
        "Upload a file chunk",
        {{"Content-Range",
          "header",
          {{"type", "string"}},
          true,
          "The Content-Range header specifies the location of the file chunk within the file."}},
        openapi::RequestBody("UploadChunk", openapi::kFormsOnly),
        {{"200", openapi::JsonResponse("", openapi::Ref("UploadResponse"))}}},
       [&app](http::Request& r) { return PutChunk(app, r); }});
  router.Add({"DELETE",
              detail,
              "upload_href",
              {"uploads_delete",
               "delete",
               "core",
               "Uploads",
               "Delete an upload",
               {},
               nullptr,
               {{"204", openapi::EmptyResponse("No response body")}}},
              [&app](http::Request& r) { return Delete(app, r); }});
  router.Add({"POST",
              detail + "commit/",
              "upload_href",
              {"uploads_commit",
               "commit",
               "core",
               "Uploads",
               "Finish an Upload",
               {},
               openapi::RequestBody("UploadCommit", openapi::kJsonAndForms),
               {{"202", openapi::AsyncResponse(app.schemas)}}},
              [&app](http::Request& r) { return Commit(app, r); }});
}

}  // namespace pulp::core::endpoints
