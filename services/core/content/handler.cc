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
#include "services/core/db/pool.h"
#include "services/core/storage/artifact_store.h"

namespace pulp::core::content {
namespace {

http::Response Text(int status, const std::string& body) {
  return http::Response::Text(status, "text/plain; charset=utf-8", body);
}

http::Response Redirect(const std::string& location) {
  http::Response r = Text(301, "");
  r.SetHeader("Location", location);
  return r;
}

std::string MimeType(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {{"gz", "application/gzip"},
                                                            {"json", "application/json"},
                                                            {"txt", "text/plain"},
                                                            {"xml", "text/xml"},
                                                            {"jpg", "image/jpeg"},
                                                            {"jpeg", "image/jpeg"},
                                                            {"png", "image/png"},
                                                            {"bz2", "application/x-bzip2"},
                                                            {"xz", "application/x-xz"},
                                                            {"zst", "application/zstd"},
                                                            {"zstd", "application/zstd"},
                                                            {"html", "text/html"},
                                                            {"htm", "text/html"},
                                                            {"iso", "application/x-iso9660-image"},
                                                            {"tar", "application/x-tar"},
                                                            {"zip", "application/zip"},
                                                            {"rpm", "application/x-rpm"},
                                                            {"css", "text/css"},
                                                            {"js", "application/javascript"}};
  const std::string name = path.substr(path.rfind('/') + 1);
  const size_t dot = name.rfind('.');
  if (dot == std::string::npos) return "application/octet-stream";
  auto it = kTypes.find(absl::AsciiStrToLower(name.substr(dot + 1)));
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

std::string HttpDate(time_t t) {
  char buf[64];
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

time_t ParseHttpDate(const std::string& s) {
  struct tm tm = {};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return -1;
  return timegm(&tm);
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

// Sends one stored file with upstream's headers, conditional requests and a single Range.
http::Response ServeFile(const http::Request& req, const std::string& file,
                         const std::string& rel) {
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) return Text(404, "404: Not Found");
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  const int64_t mtime_ns =
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  char etag[64];
  snprintf(etag, sizeof etag, "\"%llx-%llx\"", static_cast<unsigned long long>(mtime_ns),
           static_cast<unsigned long long>(size));
  http::Response r;
  r.content_type = MimeType(rel);
  r.SetHeader("ETag", etag);
  r.SetHeader("Last-Modified", HttpDate(st.st_mtim.tv_sec));
  r.SetHeader("Accept-Ranges", "bytes");
  r.SetHeader("X-PULP-ARTIFACT-SIZE", absl::StrCat(size));
  const std::string inm = req.Header("if-none-match");
  const std::string ims = req.Header("if-modified-since");
  if ((!inm.empty() && (inm == etag || inm == "*")) ||
      (inm.empty() && !ims.empty() && ParseHttpDate(ims) >= st.st_mtim.tv_sec)) {
    r.status = 304;
    r.content_type.clear();
    return r;
  }
  r.status = 200;
  r.file_path = file;
  const std::string range = req.Header("range");
  if (range.empty()) return r;
  // One range only: "bytes=a-b", "bytes=a-" or "bytes=-n"; anything else is unsatisfiable.
  auto unsatisfiable = [&] {
    http::Response bad = Text(416, "416: Range Not Satisfiable");
    bad.SetHeader("Content-Range", absl::StrCat("bytes */", size));
    return bad;
  };
  if (!absl::StartsWith(range, "bytes=") || range.find(',') != std::string::npos) {
    return unsatisfiable();
  }
  const std::string spec = range.substr(6);
  const size_t dash = spec.find('-');
  if (dash == std::string::npos) return unsatisfiable();
  const std::string a = spec.substr(0, dash), b = spec.substr(dash + 1);
  uint64_t start, end;
  if (a.empty()) {
    uint64_t suffix;
    if (!absl::SimpleAtoi(b, &suffix) || suffix == 0) return unsatisfiable();
    start = suffix >= size ? 0 : size - suffix;
    end = size - 1;
  } else {
    if (!absl::SimpleAtoi(a, &start)) return unsatisfiable();
    if (b.empty()) {
      end = size - 1;
    } else if (!absl::SimpleAtoi(b, &end) || end < start) {
      return unsatisfiable();
    }
    if (end >= size) end = size - 1;  // clamped, as aiohttp does
  }
  if (size == 0 || start >= size) return unsatisfiable();
  r.status = 206;
  r.file_offset = start;
  r.file_length = static_cast<int64_t>(end - start + 1);
  r.SetHeader("Content-Range", absl::StrCat("bytes ", start, "-", end, "/", size));
  return r;
}

class ContentHandler {
 public:
  explicit ContentHandler(AppContext& app) : app_(app) {}

  http::Response Handle(http::Request& req) {
    if (req.method != "GET" && req.method != "HEAD") return Text(405, "405: Method Not Allowed");
    const std::string& prefix = app_.settings.content_path_prefix;
    if (req.path + "/" == prefix) return Redirect(prefix);
    if (!absl::StartsWith(req.path, prefix)) return Text(404, "404: Not Found");
    const std::string rel = req.path.substr(prefix.size());
    auto lease = app_.pool->Acquire();
    if (!lease.ok()) return Text(503, "503: Service Unavailable");
    pqxx::nontransaction tx(**lease);
    if (rel.empty()) return RootListing(tx, req.path);
    return Serve(tx, req, rel);
  }

 private:
  http::Response RootListing(pqxx::transaction_base& tx, const std::string& path) {
    std::map<std::string, Entry> entries;
    for (const auto& row : tx.exec("SELECT base_path FROM core_distribution WHERE NOT hidden")) {
      const std::string bp = row[0].as<std::string>();
      entries[bp.substr(0, bp.find('/')) + "/"] = Entry{};
    }
    return Listing(path, entries, false);
  }

  http::Response Serve(pqxx::transaction_base& tx, http::Request& req, const std::string& rel) {
    // Every ancestor of the path is a candidate base path; they cannot nest, so one matches.
    std::vector<std::string> candidates;
    std::string trimmed = absl::EndsWith(rel, "/") ? rel.substr(0, rel.size() - 1) : rel;
    for (std::string c = trimmed; !c.empty();) {
      candidates.push_back(tx.quote(c));
      const size_t slash = c.rfind('/');
      c = slash == std::string::npos ? "" : c.substr(0, slash);
    }
    pqxx::result d =
        tx.exec(absl::StrCat("SELECT base_path, publication_id::text, repository_version_id::text,"
                             " repository_id::text FROM core_distribution WHERE base_path IN (",
                             absl::StrJoin(candidates, ","), ") LIMIT 1"));
    if (d.empty()) return Text(404, "404: Not Found");
    const std::string base_path = d[0][0].as<std::string>();
    std::string file_rel = rel.substr(std::min(rel.size(), base_path.size()));
    if (file_rel.empty()) return Redirect(req.path + "/");
    file_rel = file_rel.substr(1);  // drop the '/' after the base path

    std::string publication;
    if (!d[0][1].is_null()) {
      publication = d[0][1].as<std::string>();
    } else if (!d[0][2].is_null() || !d[0][3].is_null()) {
      const std::string where =
          !d[0][2].is_null()
              ? "p.repository_version_id = " + tx.quote(d[0][2].as<std::string>()) + "::uuid"
              : "v.repository_id = " + tx.quote(d[0][3].as<std::string>()) + "::uuid";
      pqxx::result p = tx.exec(absl::StrCat(
          "SELECT p.pulp_id::text FROM core_publication p JOIN core_repositoryversion v ON"
          " v.pulp_id = p.repository_version_id WHERE p.complete AND ",
          where, " ORDER BY v.number DESC, p.pulp_created DESC LIMIT 1"));
      if (!p.empty()) publication = p[0][0].as<std::string>();
    } else {
      return Text(404,
                  "404: Distribution is not pointing to a publication, repository, repository"
                  " version, or remote.");
    }
    if (publication.empty()) return Text(404, "404: Not Found");
    const std::string pub = tx.quote(publication) + "::uuid";

    if (file_rel.empty() || absl::EndsWith(file_rel, "/")) {
      return DirectoryListing(tx, req.path, pub, file_rel);
    }
    if (auto file = StoredFile(tx, publication, file_rel)) {
      return ServeFile(req, app_.store->PathOf(*file), file_rel);
    }
    // A directory asked for without its slash.
    if (!Entries(tx, pub, file_rel + "/").empty()) return Redirect(req.path + "/");
    return Text(404, "404: Not Found");
  }

  // The stored file a publication serves at `rel`. Publications never change once complete,
  // so the answer is cached (bounded) and only the distribution → publication step reads
  // Postgres on every request.
  std::optional<std::string> StoredFile(pqxx::transaction_base& tx, const std::string& publication,
                                        const std::string& rel) {
    const std::string key = absl::StrCat(publication, "|", rel);
    {
      absl::MutexLock lock(&mu_);
      auto it = files_.find(key);
      if (it != files_.end()) return it->second;
    }
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
    if (file) {
      absl::MutexLock lock(&mu_);
      if (files_.size() >= kMaxCachedFiles) files_.clear();
      files_[key] = file;
    }
    return file;
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
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::optional<std::string>> files_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

http::Handler MakeContentHandler(AppContext& app) {
  auto handler = std::make_shared<ContentHandler>(app);
  return [handler, &app](http::Request& req) {
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
}

}  // namespace pulp::core::content
