#include "services/plugins/file/sync.h"

#include <map>
#include <pqxx/pqxx>
#include <set>
#include <stdexcept>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/db/sql.h"
#include "services/core/download/downloader.h"
#include "services/core/endpoints/common.h"
#include "services/core/endpoints/repositories.h"
#include "services/core/http/errors.h"
#include "services/core/http/listing.h"
#include "services/core/http/message.h"
#include "services/core/http/router.h"
#include "services/core/http/validation.h"
#include "services/core/models/artifact.h"
#include "services/core/models/repository.h"
#include "services/core/models/repository_type.h"
#include "services/core/openapi/schema.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/storage/digests.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/uuid.h"
#include "services/plugins/file/publication.h"

namespace pulp::plugins::file {
namespace {

using core::Json;
namespace http = core::http;

constexpr char kSyncTask[] = "pulp_file.app.tasks.synchronizing.synchronize";
constexpr size_t kMaxManifestBytes = 512u << 20;

// The URL of a manifest entry: the manifest's folder plus the percent-quoted relative path.
std::string EntryUrl(const std::string& manifest_url, const std::string& relative_path) {
  const std::string base = manifest_url.substr(0, manifest_url.rfind('/') + 1);
  return base + http::PercentEncode(relative_path);
}

std::string Sha256(const std::string& bytes) {
  core::storage::MultiHasher h({"sha256"});
  h.Update(bytes.data(), bytes.size());
  return h.Finish().at("sha256");
}

// Upstream's sync optimization: nothing to do when the remote, its manifest and the
// repository are as the last sync left them.
bool SyncWouldChangeNothing(pqxx::transaction_base& tx, const std::string& repo_pk,
                            const Json& last, const Json& now) {
  if (last.empty()) return false;
  for (const char* k : {"remote_pk", "url", "manifest_checksum", "most_recent_version"}) {
    if (last.value(k, Json()) != now.value(k, Json())) return false;
  }
  const std::string policy = now["download_policy"];
  if (policy == "immediate" && last.value("download_policy", "") != "immediate") return false;
  if (now["mirror"] == true && last.value("mirror", false) != true) return false;
  if (policy != "immediate") return true;
  // An immediate sync must still fetch what an earlier on_demand one left behind.
  const int n = now["most_recent_version"];
  return tx
      .exec(absl::StrCat("SELECT 1 FROM core_repositorycontent rc JOIN core_contentartifact ca ON"
                         " ca.content_id = rc.content_id WHERE rc.repository_id = ",
                         tx.quote(repo_pk), "::uuid AND rc.version_added <= ", n,
                         " AND (rc.version_removed IS NULL OR rc.version_removed > ", n,
                         ") AND ca.artifact_id IS NULL LIMIT 1"))
      .empty();
}

Json Sync(core::tasking::TaskContext& ctx, const Json& kwargs) {
  core::AppContext& app = ctx.app();
  const std::string remote_pk = kwargs.at("remote_pk");
  const std::string repo_pk = kwargs.at("repository_pk");
  const bool mirror = kwargs.value("mirror", false);
  auto lease = app.pool->Acquire();
  if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));

  Json remote, last_sync;
  int latest = 0;
  {
    pqxx::nontransaction tx(**lease);
    pqxx::result r = tx.exec("SELECT row_to_json(r)::text FROM core_remote r WHERE pulp_id = " +
                             tx.quote(remote_pk) + "::uuid");
    if (r.empty()) throw std::runtime_error("The remote no longer exists.");
    remote = Json::parse(r[0][0].as<std::string>());
    pqxx::result repo = tx.exec(
        "SELECT f.last_sync_details::text, r.next_version - 1 FROM file_filerepository f JOIN"
        " core_repository r ON r.pulp_id = f.repository_ptr_id WHERE f.repository_ptr_id = " +
        tx.quote(repo_pk) + "::uuid");
    if (repo.empty()) throw std::runtime_error("The repository no longer exists.");
    last_sync = Json::parse(repo[0][0].as<std::string>());
    latest = repo[0][1].as<int>();
  }
  const std::string url = remote.value("url", "");
  if (url.empty()) throw std::runtime_error("A remote must have a url specified to synchronize.");
  const core::download::Options options = core::download::Options::FromRemote(remote);
  const std::string policy = remote.value("policy", "immediate");

  const size_t metadata = ctx.StartProgress("Downloading Metadata", "sync.downloading.metadata");
  auto manifest = core::download::FetchText(url, options, kMaxManifestBytes);
  if (!manifest.ok()) throw std::runtime_error(std::string(manifest.status().message()));
  ctx.FinishProgress(metadata, 1);
  Json details = {{"remote_pk", remote_pk},        {"url", url},
                  {"download_policy", policy},     {"mirror", mirror},
                  {"most_recent_version", latest}, {"manifest_checksum", Sha256(*manifest)}};
  {
    pqxx::nontransaction tx(**lease);
    if (kwargs.value("optimize", true) && SyncWouldChangeNothing(tx, repo_pk, last_sync, details)) {
      const size_t skip =
          ctx.StartProgress("Skipping Sync (no change from previous sync)", "sync.was_skipped", 1);
      ctx.FinishProgress(skip, 1);
      return Json(nullptr);
    }
  }

  const size_t parsing = ctx.StartProgress("Parsing Metadata Lines", "sync.parsing.metadata");
  const std::vector<ManifestEntry> entries = ParseManifest(*manifest);
  const auto lines = static_cast<int64_t>(entries.size());
  ctx.AdvanceProgress(parsing, lines, lines);
  ctx.FinishProgress(parsing, lines);

  // What we hold already: content by (relative_path, digest), artifacts by sha256.
  std::map<std::pair<std::string, std::string>, std::string> known_content;
  std::map<std::string, std::string> known_artifacts;
  {
    pqxx::nontransaction tx(**lease);
    // Only what this manifest names: the cost follows the manifest, not the database.
    std::vector<std::string> paths, digests;
    for (const auto& e : entries) {
      paths.push_back(e.relative_path);
      digests.push_back(e.digest);
    }
    const std::string path_array = core::db::TextArrayLiteral(tx, paths);
    const std::string digest_array = core::db::TextArrayLiteral(tx, digests);
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT f.relative_path, f.digest, f.content_ptr_id::text FROM file_filecontent f"
             " JOIN unnest(",
             path_array, ", ", digest_array,
             ") AS m(p, d) ON f.relative_path = m.p AND f.digest = m.d"))) {
      known_content[{row[0].as<std::string>(), row[1].as<std::string>()}] =
          row[2].as<std::string>();
    }
    for (const auto& row : tx.exec("SELECT sha256, pulp_id::text FROM core_artifact WHERE"
                                   " sha256 = ANY(" +
                                   digest_array + ")")) {
      known_artifacts[row[0].as<std::string>()] = row[1].as<std::string>();
    }
  }
  std::vector<core::download::Request> downloads;
  std::vector<size_t> download_entry;
  std::set<std::string> queued;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (known_content.count({e.relative_path, e.digest}) || policy != "immediate") continue;
    if (known_artifacts.count(e.digest) || queued.count(e.digest)) continue;
    queued.insert(e.digest);
    downloads.push_back({EntryUrl(url, e.relative_path), e.size, e.digest});
    download_entry.push_back(i);
  }
  // Everything is downloaded and verified before anything is saved: a failure saves nothing.
  const size_t downloading =
      ctx.StartProgress("Downloading Artifacts", "sync.downloading.artifacts");
  std::vector<core::download::Result> results = core::download::DownloadAll(
      *app.store, downloads, options,
      [&](size_t finished) { ctx.AdvanceProgress(downloading, static_cast<int64_t>(finished)); });
  for (const auto& r : results) {
    if (!r.error.empty()) throw std::runtime_error(r.error);
  }
  ctx.FinishProgress(downloading, static_cast<int64_t>(results.size()));

  pqxx::work tx(**lease);
  for (auto& r : results) {
    const std::string sha = r.file->digests().at("sha256");
    known_artifacts[sha] = core::models::SaveArtifact(app, tx, *r.file, true).pk;
  }
  // New units go in with COPY: a statement per row would make a 100,000-line manifest take
  // minutes, and even multi-row INSERTs spend most of their time parsing SQL.
  using Row3 = std::tuple<std::string, std::string, std::string>;
  using Row4 = std::tuple<std::string, std::string, std::string, std::string>;
  using Row6 =
      std::tuple<std::string, std::string, std::string, std::string, std::string, std::string>;
  std::vector<std::string> version_content;
  std::vector<Row3> contents, bare_content_artifacts;
  std::vector<Row4> files, content_artifacts;
  std::vector<Row6> remote_artifacts;
  const std::string& domain = app.default_domain_id;
  for (const auto& e : entries) {
    auto it = known_content.find({e.relative_path, e.digest});
    if (it != known_content.end()) {
      version_content.push_back(it->second);
      continue;
    }
    const std::string content = core::NewUuid();
    const std::string ca = core::NewUuid();
    contents.emplace_back(content, domain, "file.file");
    files.emplace_back(content, e.relative_path, e.digest, domain);
    if (auto artifact = known_artifacts.find(e.digest); artifact != known_artifacts.end()) {
      content_artifacts.emplace_back(ca, content, artifact->second, e.relative_path);
    } else {
      bare_content_artifacts.emplace_back(ca, content, e.relative_path);
    }
    remote_artifacts.emplace_back(core::NewUuid(), ca, remote_pk, EntryUrl(url, e.relative_path),
                                  std::to_string(e.size), e.digest);
    known_content[{e.relative_path, e.digest}] = content;
    version_content.push_back(content);
  }
  auto copy = [&tx](const char* table, const std::vector<std::string>& columns, const auto& rows) {
    if (rows.empty()) return;
    pqxx::stream_to out(tx, table, columns);
    for (const auto& row : rows) out << row;
    out.complete();
  };
  copy("core_content", {"pulp_id", "pulp_domain_id", "pulp_type"}, contents);
  copy("file_filecontent", {"content_ptr_id", "relative_path", "digest", "pulp_domain_id"}, files);
  copy("core_contentartifact", {"pulp_id", "content_id", "artifact_id", "relative_path"},
       content_artifacts);
  copy("core_contentartifact", {"pulp_id", "content_id", "relative_path"}, bare_content_artifacts);
  copy("core_remoteartifact",
       {"pulp_id", "content_artifact_id", "remote_id", "url", "size", "sha256"}, remote_artifacts);
  const size_t associating = ctx.StartProgress("Associating Content", "associating.content");
  const size_t unassociating = ctx.StartProgress("Un-Associating Content", "unassociating.content");
  std::optional<int> number =
      core::models::CreateVersion(app, tx, repo_pk, std::nullopt, version_content, {}, mirror);
  core::models::CreatedResources created;
  if (number) {
    created.push_back(core::models::VersionHrefAndPrn(app, tx, repo_pk, *number));
    const std::string counts = absl::StrCat(
        "SELECT count(*) FILTER (WHERE version_added = ", *number,
        "), count(*) FILTER (WHERE version_removed = ", *number,
        ") FROM core_repositorycontent WHERE repository_id = ", tx.quote(repo_pk), "::uuid");
    pqxx::result n = tx.exec(counts);
    ctx.FinishProgress(associating, n[0][0].as<int64_t>());
    ctx.FinishProgress(unassociating, n[0][1].as<int64_t>());
    const std::string version_pk = created[0].second.substr(created[0].second.rfind(':') + 1);
    if (mirror) {
      // Served as the remote published it: its own manifest under the manifest's name.
      const std::string name = url.substr(url.rfind('/') + 1);
      created.push_back(PublishMirror(app, tx, version_pk, name, *manifest));
    }
    for (auto& r : core::models::FinishNewVersion(app, tx, repo_pk, *number)) {
      created.push_back(std::move(r));
    }
    details["most_recent_version"] = *number;
  } else {
    ctx.FinishProgress(associating, 0);
    ctx.FinishProgress(unassociating, 0);
  }
  tx.exec(
      "UPDATE file_filerepository SET last_sync_details = " + tx.quote(core::DumpJson(details)) +
      "::jsonb WHERE repository_ptr_id = " + tx.quote(repo_pk) + "::uuid");
  tx.commit();
  for (const auto& [href, prn] : created) ctx.AddCreatedResource(href, prn);
  return number ? core::endpoints::RenderVersion(app, repo_pk, *number) : Json(nullptr);
}

}  // namespace

namespace {

// Upstream's ^[^/]+(/[^/]+)*$: non-empty segments joined by single slashes. By hand: a regex
// per line costs seconds on a 100,000-line manifest.
bool IsManifestPath(const std::string& p) {
  return !p.empty() && p.front() != '/' && p.back() != '/' && p.find("//") == std::string::npos;
}

}  // namespace

std::vector<ManifestEntry> ParseManifest(const std::string& text) {
  std::vector<ManifestEntry> out;
  int line_no = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line_no;
    const std::string line(absl::StripAsciiWhitespace(raw));
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> parts = absl::StrSplit(line, ',');
    bool ok = parts.size() >= 3;
    ManifestEntry e;
    if (ok) {
      const std::string size(absl::StripAsciiWhitespace(parts.back()));
      e.digest = std::string(absl::StripAsciiWhitespace(parts[parts.size() - 2]));
      parts.resize(parts.size() - 2);
      e.relative_path = std::string(absl::StripAsciiWhitespace(absl::StrJoin(parts, ",")));
      ok = IsManifestPath(e.relative_path) && !e.digest.empty() &&
           e.digest.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos &&
           !size.empty() && size.find_first_not_of("0123456789") == std::string::npos &&
           absl::SimpleAtoi(size, &e.size) && core::IsValidUtf8(e.relative_path);
      e.digest = absl::AsciiStrToLower(e.digest);
    }
    if (!ok) {
      throw std::runtime_error(absl::StrCat(
          "Error: Parsing of the manifest file failed on line:", line_no,
          ". Please make sure the remote manifest is properly formatted. The format should be"
          " <relative_path>,<digest>,<size>. ",
          core::IsValidUtf8(line) ? line : std::string("<invalid UTF-8>")));
    }
    out.push_back(std::move(e));
  }
  return out;
}

void RegisterSyncTask(core::tasking::TaskRegistry& registry) {
  registry.Register(kSyncTask, [](core::tasking::TaskContext& ctx, const Json&,
                                  const Json& kwargs) { return Sync(ctx, kwargs); });
}

void RegisterSyncRoute(core::AppContext& app, http::Router& router) {
  const std::string repos = app.ApiV3() + "repositories/file/file/";
  const std::string remotes = app.ApiV3() + "remotes/file/file/";
  app.schemas["RepositorySyncURL"] = {{"type", "object"},
                                      {"properties",
                                       {{"remote", {{"type", "string"}, {"format", "uri"}}},
                                        {"mirror", {{"type", "boolean"}, {"default", false}}},
                                        {"optimize", {{"type", "boolean"}, {"default", true}}}}}};
  http::Operation op;
  op.operation_id = "repositories_file_file_sync";
  op.action = "sync";
  op.component = "file";
  op.tag = "Repositories: File";
  op.summary = "Sync from a remote";
  op.request_body = core::openapi::RequestBody("RepositorySyncURL", core::openapi::kJsonAndForms);
  op.responses = {{"202", core::openapi::AsyncResponse(app.schemas)}};
  router.Add(
      {"POST", repos + "{pulp_id}/sync/", "file_file_repository_href", op,
       [&app, repos, remotes](http::Request& req) {
         const std::string repo = req.path_params["pulp_id"];
         Json in = http::ValidateFields(http::ReadRequestData(req),
                                        {{"remote", http::Field::kString, false, true},
                                         {"mirror", http::Field::kBoolean},
                                         {"optimize", http::Field::kBoolean}});
         auto lease = app.pool->Acquire();
         if (!lease.ok()) throw http::FromStatus(lease.status());
         pqxx::nontransaction tx(**lease);
         if (!core::IsUuid(repo) ||
             tx.exec("SELECT 1 FROM core_repository WHERE pulp_type = 'file.file' AND"
                     " pulp_id = " +
                     tx.quote(repo) + "::uuid")
                 .empty()) {
           throw http::NotFoundError("FileRepository");
         }
         pqxx::result own = tx.exec(
             "SELECT r.remote_id::text, f.autopublish FROM core_repository r JOIN"
             " file_filerepository f ON f.repository_ptr_id = r.pulp_id WHERE r.pulp_id = " +
             tx.quote(repo) + "::uuid");
         std::string remote;
         if (in.contains("remote") && !in["remote"].is_null()) {
           const std::string ref = in["remote"];
           remote = absl::StartsWith(ref, "prn:") ? http::PkFromPrn(ref, "file.fileremote")
                                                  : http::PkFromHref(ref, remotes);
           if (remote.empty() ||
               tx.exec("SELECT 1 FROM core_remote WHERE pulp_type = 'file.file' AND pulp_id = " +
                       tx.quote(remote) + "::uuid")
                   .empty()) {
             throw http::FieldError("remote", remote.empty()
                                                  ? "Invalid hyperlink - No URL match."
                                                  : "Invalid hyperlink - Object does not exist.");
           }
         } else if (!own.empty() && !own[0][0].is_null()) {
           remote = own[0][0].as<std::string>();
         } else {
           throw http::FieldError(
               "remote", "This field is required since a remote is not set on the repository.");
         }
         if (in.value("mirror", false) && !own.empty() && own[0][1].as<bool>()) {
           throw http::ApiError(
               400, Json::array({"Cannot use mirror mode with autopublished repository."}));
         }
         core::tasking::DispatchRequest task = core::endpoints::TaskFrom(req, kSyncTask);
         task.kwargs = {{"remote_pk", remote},
                        {"repository_pk", repo},
                        {"mirror", in.value("mirror", false)},
                        {"optimize", in.value("optimize", true)}};
         task.exclusive_resources = {"prn:file.filerepository:" + repo};
         task.shared_resources = {"prn:file.fileremote:" + remote};
         return core::endpoints::TaskAccepted(app, app.dispatcher->Dispatch(task));
       }});
}

}  // namespace pulp::plugins::file
