// /pulp/api/v3/artifacts/: multipart create with checksum and size verification, list, read.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/routes.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/artifact.h"
#include "services/core/openapi/schema.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/storage/digests.h"

namespace pulp::core::endpoints {
namespace {

std::vector<http::Field> ArtifactFields() {
  std::vector<http::Field> fields = {{"file", http::Field::kFile, true}};
  fields.push_back({"size", http::Field::kInteger, false, false, false, 0});
  for (const std::string& alg : storage::AllChecksums()) {
    fields.push_back({alg, http::Field::kString, false, true, false, {}, {}, 128});
  }
  return fields;
}

http::Response CreateArtifact(AppContext& app, http::Request& req) {
  std::unique_ptr<storage::FileWriter> writer;
  http::FileSinkFactory sinks = storage::WriterSinkFactory(*app.store, &writer);
  http::RequestData data = http::ReadRequestData(req, sinks);
  Json input = http::ValidateFields(data, ArtifactFields());

  std::vector<std::string> forbidden;
  for (const std::string& alg : storage::AllChecksums()) {
    if (input.contains(alg) && !input[alg].is_null() && !app.settings.ChecksumAllowed(alg)) {
      forbidden.push_back("'" + alg + "'");
    }
  }
  if (!forbidden.empty()) {
    throw http::NonFieldError(absl::StrCat("Checksum algorithms [", absl::StrJoin(forbidden, ", "),
                                           "] forbidden for this Pulp instance."));
  }
  if (auto st = writer->Finish(); !st.ok()) throw http::FromStatus(st);
  if (input.contains("size") &&
      input["size"].get<int64_t>() != static_cast<int64_t>(writer->size())) {
    throw http::NonFieldError("The size did not match actual size of file.");
  }
  for (const std::string& alg : storage::AllChecksums()) {
    if (!input.contains(alg) || input[alg].is_null()) continue;
    auto it = writer->digests().find(alg);
    if (it != writer->digests().end() && it->second != input[alg].get<std::string>()) {
      throw http::NonFieldError(absl::StrCat("The ", alg, " checksum did not match."));
    }
  }
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  pqxx::work tx(**lease);
  models::SavedArtifact saved = models::SaveArtifact(app, tx, *writer, /*reuse_existing=*/false);
  tx.commit();
  pqxx::read_transaction rtx(**lease);
  return Created(*http::FetchOne(models::ArtifactListSpec(app), rtx, saved.pk));
}

}  // namespace

void RegisterArtifactRoutes(AppContext& app, http::Router& router) {
  const std::string list = app.ApiV3() + "artifacts/";
  const std::string detail = list + "{pulp_id}/";
  Json props = openapi::ModelResponseProperties();
  props["file"] = {{"type", "string"}, {"description", "The stored file."}};
  props["size"] = {{"type", "integer"}, {"format", "int64"}};
  for (const std::string& alg : storage::AllChecksums()) {
    props[alg] = {{"type", "string"}, {"nullable", true}};
  }
  app.schemas["ArtifactResponse"] = {{"type", "object"}, {"properties", props}};
  Json in_props = {
      {"file", {{"type", "string"}, {"format", "binary"}, {"description", "The stored file."}}},
      {"size", {{"type", "integer"}, {"format", "int64"}}}};
  for (const std::string& alg : storage::AllChecksums()) {
    in_props[alg] = {{"type", "string"}, {"nullable", true}, {"minLength", 1}};
  }
  app.schemas["Artifact"] = {{"type", "object"}, {"properties", in_props}, {"required", {"file"}}};

  auto spec = std::make_shared<http::ListSpec>(models::ArtifactListSpec(app));
  const ResourceDoc doc{"artifacts", "core",          "Artifacts",
                        "artifact",  "artifact_href", "ArtifactResponse"};
  AddListRoute(app, router, spec, doc);
  router.Add({"POST",
              list,
              "",
              {"artifacts_create",
               "create",
               "core",
               "Artifacts",
               "Create an artifact",
               {},
               openapi::RequestBody("Artifact", openapi::kFormsOnly),
               {{"201", openapi::JsonResponse("", openapi::Ref("ArtifactResponse"))}}},
              [&app](http::Request& r) { return CreateArtifact(app, r); }});
  AddReadRoute(app, router, spec, doc);
  // Upstream's default access policy has no statement for destroy: even admin gets a 403.
  router.Add({"DELETE",
              detail,
              "artifact_href",
              {"artifacts_delete",
               "delete",
               "core",
               "Artifacts",
               "Remove Artifact only if it is not associated with any Content.",
               {},
               nullptr,
               {{"204", openapi::EmptyResponse("No response body")}}},
              [](http::Request&) -> http::Response {
                throw http::DetailError(403, "You do not have permission to perform this action.");
              }});
}

}  // namespace pulp::core::endpoints
