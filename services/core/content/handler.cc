#include "services/core/content/handler.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <pqxx/pqxx>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "services/core/app_context.h"
#include "services/core/content/file_response.h"
#include "services/core/content/remote_content.h"
#include "services/core/db/pool.h"
#include "services/core/storage/artifact_store.h"

namespace pulp::core::content {
namespace {

http::Response Redirect(const std::string& location) {
  http::Response r = Text(301, "");
  r.SetHeader("Location", location);
  return r;
}

// Jinja's filesizeformat (decimal units), as upstream's listing shows sizes.
std::string FileSize(int64_t bytes) {
  if (bytes == 1) return "1 Byte";
  if (bytes < 1000) return absl::StrCat(bytes, " Bytes");
  const char* units[] = {"kB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes);
  int i = -1;
  while (v >= 1000 && i < 4) {
    v /= 1000;
    ++i;
  }
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f %s", v, units[i]);
  return buf;
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

struct Entry {
  std::string date;  // "02-Jan-2024 03:04" or ""
  int64_t size = -1;
};

http::Response Listing(const std::string& path, const std::map<std::string, Entry>& entries,
                       bool with_parent) {
  std::string body =
      absl::StrCat("\n<html>\n<head><title>Index of ", path,
                   "</title></head>\n<body bgcolor=\"white\">\n<h1>Index of ", path,
                   "</h1>\n<hr><pre>", with_parent ? "<a href=\"../\">../</a>" : "", "\n");
  for (const auto& [name, e] : entries) {
    const std::string escaped = HtmlEscape(name);
    absl::StrAppend(&body, "<a href=\"./", escaped, "\">", escaped, "</a>",
                    std::string(escaped.size() < 100 ? 100 - escaped.size() : 0, ' '), e.date, "  ",
                    e.size >= 0 ? FileSize(e.size) : "", "\n");
  }
  body += "</pre><hr></body>\n</html>";
  return http::Response::Text(200, "text/html; charset=utf-8", body);
}

// What the distributions serve, resolved to publications; read from Postgres in one query and
// shared by every request until it expires or a change is announced (gRPC ContentCache).
struct Snapshot {
  struct Target {
    std::string publication;  // "" when nothing is published yet
    bool points_nowhere = false;
  };
  absl::flat_hash_map<std::string, Target> by_base_path;
  std::vector<std::string> visible_base_paths;  // not hidden, for the root listing
  absl::Time loaded;
};

class ContentHandler {
 public:
  explicit ContentHandler(AppContext& app) : app_(app), remote_(app) {}

  http::Response Handle(http::Request& req) {
    if (req.method != "GET" && req.method != "HEAD") return Text(405, "405: Method Not Allowed");
    const std::string& prefix = app_.settings.content_path_prefix;
    if (req.path + "/" == prefix) return Redirect(prefix);
    if (!absl::StartsWith(req.path, prefix)) return Text(404, "404: Not Found");
    const std::string rel = req.path.substr(prefix.size());
    std::shared_ptr<const Snapshot> snapshot = Current();
    if (rel.empty()) return RootListing(*snapshot, req.path);

    // Every ancestor of the path is a candidate base path; they cannot nest, so one matches.
    const std::string trimmed = absl::EndsWith(rel, "/") ? rel.substr(0, rel.size() - 1) : rel;
    const Snapshot::Target* target = nullptr;
    std::string base_path;
    for (std::string c = trimmed; !c.empty() && target == nullptr;) {
      if (auto it = snapshot->by_base_path.find(c); it != snapshot->by_base_path.end()) {
        target = &it->second;
        base_path = c;
      }
      const size_t slash = c.rfind('/');
      c = slash == std::string::npos ? "" : c.substr(0, slash);
    }
    if (target == nullptr) return PartialBasePathListing(*snapshot, req.path, trimmed);
    std::string file_rel = rel.substr(std::min(rel.size(), base_path.size()));
    if (file_rel.empty()) return Redirect(req.path + "/");
    file_rel = file_rel.substr(1);  // drop the '/' after the base path
    if (target->points_nowhere) {
      return Text(404,
                  "404: Distribution is not pointing to a publication, repository, repository"
                  " version, or remote.");
    }
    const std::string publication = target->publication;
    if (publication.empty()) return Text(404, "404: Not Found");
    const bool is_file = !file_rel.empty() && !absl::EndsWith(file_rel, "/");
    if (is_file) {
      if (auto file = CachedFile(publication, file_rel)) return ServeFile(req, *file, file_rel);
    }

    std::vector<RemoteSource> remote;
    {
      auto lease = app_.pool->Acquire();
      if (!lease.ok()) return Text(503, "503: Service Unavailable");
      pqxx::nontransaction tx(**lease);
      const std::string pub = tx.quote(publication) + "::uuid";
      if (!is_file) return DirectoryListing(tx, req.path, pub, file_rel);
      if (auto file = StoredFile(tx, publication, file_rel)) return ServeFile(req, *file, file_rel);
      remote = FindRemoteSources(tx, publication, file_rel);
      // An on_demand download may have saved the file between the two queries.
      if (remote.empty()) {
        if (auto file = StoredFile(tx, publication, file_rel)) {
          return ServeFile(req, *file, file_rel);
        }
      }
      // A directory asked for without its slash.
      if (remote.empty() && !Entries(tx, pub, file_rel + "/").empty()) {
        return Redirect(req.path + "/");
      }
    }
    if (remote.empty()) return Text(404, "404: Not Found");
    // Fetching from a remote may take long or wait for another request's download: it runs
    // off the event loop, and without a database connection.
    http::Response later;
    later.deferred = [this, copy = RequestHead(req), remote = std::move(remote), file_rel] {
      return remote_.Serve(copy, remote, file_rel);
    };
    return later;
  }

  // What a deferred response needs of its request (the body is gone by then).
  static http::Request RequestHead(const http::Request& req) {
    http::Request copy;
    copy.method = req.method;
    copy.path = req.path;
    copy.headers = req.headers;
    return copy;
  }

  // Forgets what distributions serve; the next request reads it again. Returns how many
  // distributions were cached.
  uint64_t Invalidate() {
    absl::MutexLock lock(&mu_);
    ++generation_;
    const uint64_t n = snapshot_ ? snapshot_->by_base_path.size() : 0;
    snapshot_.reset();
    return n;
  }

 private:
  // A safety net: changes are announced over gRPC, but one lost announcement must not keep
  // stale answers for long.
  static constexpr absl::Duration kSnapshotTtl = absl::Seconds(10);

  std::shared_ptr<const Snapshot> Current() {
    uint64_t generation;
    {
      absl::MutexLock lock(&mu_);
      if (snapshot_ && absl::Now() - snapshot_->loaded < kSnapshotTtl) return snapshot_;
      generation = generation_;
    }
    auto fresh = std::make_shared<Snapshot>();
    fresh->loaded = absl::Now();
    {
      auto lease = app_.pool->Acquire();
      if (!lease.ok()) throw std::runtime_error(std::string(lease.status().message()));
      pqxx::nontransaction tx(**lease);
      // A distribution serves its publication, or the newest complete publication of its
      // repository version, or of its repository's newest published version.
      for (const auto& row :
           tx.exec("SELECT d.base_path, d.hidden, COALESCE(d.publication_id, (SELECT p.pulp_id FROM"
                   " core_publication p JOIN core_repositoryversion v ON v.pulp_id ="
                   " p.repository_version_id WHERE p.complete AND CASE WHEN d.repository_version_id"
                   " IS NOT NULL THEN p.repository_version_id = d.repository_version_id ELSE"
                   " v.repository_id = d.repository_id END ORDER BY v.number DESC, p.pulp_created"
                   " DESC LIMIT 1))::text, d.publication_id IS NULL AND d.repository_version_id IS"
                   " NULL AND d.repository_id IS NULL FROM core_distribution d")) {
        const std::string base_path = row[0].as<std::string>();
        fresh->by_base_path[base_path] = {row[2].is_null() ? "" : row[2].as<std::string>(),
                                          row[3].as<bool>()};
        if (!row[1].as<bool>()) fresh->visible_base_paths.push_back(base_path);
      }
    }
    absl::MutexLock lock(&mu_);
    // A change announced while this was loading may not be in it: use it once, keep it not.
    if (generation == generation_) snapshot_ = fresh;
    return fresh;
  }

  http::Response RootListing(const Snapshot& snapshot, const std::string& path) {
    std::map<std::string, Entry> entries;
    for (const std::string& bp : snapshot.visible_base_paths) {
      entries[bp.substr(0, bp.find('/')) + "/"] = Entry{};
    }
    return Listing(path, entries, false);
  }

  // A path above some distributions' base paths ("foo/" over "foo/bar" and "foo/baz") lists
  // the next segment of each, as upstream's DistroListings does (titled with the relative path).
  http::Response PartialBasePathListing(const Snapshot& snapshot, const std::string& path,
                                        const std::string& trimmed) {
    const std::string prefix = trimmed + "/";
    std::map<std::string, Entry> entries;
    for (const std::string& bp : snapshot.visible_base_paths) {
      if (!absl::StartsWith(bp, prefix)) continue;
      const std::string rest = bp.substr(prefix.size());
      entries[rest.substr(0, rest.find('/')) + "/"] = Entry{};
    }
    if (entries.empty()) return Text(404, "404: Not Found");
    if (!absl::EndsWith(path, "/")) return Redirect(path + "/");
    return Listing(prefix, entries, true);
  }

  std::optional<std::string> CachedFile(const std::string& publication, const std::string& rel) {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(absl::StrCat(publication, "|", rel));
    if (it == files_.end() || !it->second) return std::nullopt;
    return app_.store->PathOf(*it->second);
  }

  // The stored file a publication serves at `rel`. Publications never change once complete,
  // so the answer is cached (bounded) and only the distribution → publication step reads
  // Postgres on every request.
  std::optional<std::string> StoredFile(pqxx::transaction_base& tx, const std::string& publication,
                                        const std::string& rel) {
    const std::string key = absl::StrCat(publication, "|", rel);
    const std::string pub = tx.quote(publication) + "::uuid";
    // Published metadata first (PULP_MANIFEST), then the version's content (pass-through).
    pqxx::result f = tx.exec(absl::StrCat(
        "SELECT a.file FROM core_publishedmetadata m JOIN core_artifact a ON a.pulp_id ="
        " m.artifact_id WHERE m.publication_id = ",
        pub, " AND m.relative_path = ", tx.quote(rel),
        " UNION ALL SELECT a.file FROM core_publication p JOIN core_repositoryversion v ON"
        " v.pulp_id = p.repository_version_id JOIN core_repositorycontent rc ON"
        " rc.repository_id = v.repository_id AND rc.version_added <= v.number AND"
        " (rc.version_removed IS NULL OR rc.version_removed > v.number) JOIN"
        " core_contentartifact ca ON ca.content_id = rc.content_id AND ca.relative_path = ",
        tx.quote(rel), " JOIN core_artifact a ON a.pulp_id = ca.artifact_id WHERE p.pulp_id = ",
        pub, " AND p.pass_through LIMIT 1"));
    std::optional<std::string> file;
    if (!f.empty()) file = f[0][0].as<std::string>();
    // Misses are not cached: on_demand content may gain its artifact later.
    if (!file) return std::nullopt;
    {
      absl::MutexLock lock(&mu_);
      if (files_.size() >= kMaxCachedFiles) files_.clear();
      files_[key] = file;
    }
    return app_.store->PathOf(*file);
  }

  // Names directly under `dir` ("" = the publication root) with dates and sizes.
  std::map<std::string, Entry> Entries(pqxx::transaction_base& tx, const std::string& pub,
                                       const std::string& dir) {
    const std::string like = tx.quote(dir + "%");
    pqxx::result rows = tx.exec(absl::StrCat(
        "SELECT m.relative_path, to_char(p.pulp_created AT TIME ZONE 'UTC', 'DD-Mon-YYYY HH24:MI'),"
        " a.size FROM core_publishedmetadata m JOIN core_publication p ON p.pulp_id ="
        " m.publication_id JOIN core_artifact a ON a.pulp_id = m.artifact_id WHERE"
        " m.publication_id = ",
        pub, " AND m.relative_path LIKE ", like,
        " UNION ALL SELECT ca.relative_path, to_char(rc.pulp_created AT TIME ZONE 'UTC',"
        " 'DD-Mon-YYYY HH24:MI'), a.size FROM core_publication p JOIN core_repositoryversion v ON"
        " v.pulp_id = p.repository_version_id JOIN core_repositorycontent rc ON"
        " rc.repository_id = v.repository_id AND rc.version_added <= v.number AND"
        " (rc.version_removed IS NULL OR rc.version_removed > v.number) JOIN"
        " core_contentartifact ca ON ca.content_id = rc.content_id LEFT JOIN core_artifact a ON"
        " a.pulp_id = ca.artifact_id WHERE p.pulp_id = ",
        pub,
        " AND p.pass_through AND"
        " ca.relative_path LIKE ",
        like));
    std::map<std::string, Entry> out;
    for (const auto& row : rows) {
      const std::string rest = row[0].as<std::string>().substr(dir.size());
      const size_t slash = rest.find('/');
      Entry e{row[1].as<std::string>(), row[2].is_null() ? -1 : row[2].as<int64_t>()};
      out[slash == std::string::npos ? rest : rest.substr(0, slash + 1)] = e;
    }
    return out;
  }

  http::Response DirectoryListing(pqxx::transaction_base& tx, const std::string& path,
                                  const std::string& pub, const std::string& dir) {
    // An index.html in the directory is served instead of a listing.
    auto entries = Entries(tx, pub, dir);
    if (entries.empty()) return Text(404, "404: Not Found");
    return Listing(path, entries, true);
  }

  static constexpr size_t kMaxCachedFiles = 200'000;
  AppContext& app_;
  RemoteContent remote_;
  absl::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::optional<std::string>> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ContentApp MakeContentApp(AppContext& app) {
  auto handler = std::make_shared<ContentHandler>(app);
  ContentApp out;
  out.invalidate = [handler] { return handler->Invalidate(); };
  out.handler = [handler, &app](http::Request& req) {
    try {
      return handler->Handle(req);
    } catch (const pqxx::broken_connection&) {
      app.pool->DropIdle();
      return Text(503, "503: Service Unavailable");
    } catch (const std::exception& e) {
      std::cerr << "pulp-content: " << req.path << ": " << e.what() << std::endl;
      return Text(503, "503: Service Unavailable");
    }
  };
  return out;
}

}  // namespace pulp::core::content
