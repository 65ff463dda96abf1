// The content app's file responses: how a stored file goes out to a client.
#include "services/core/content/file_response.h"

#include <sys/stat.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pulp::core::content {
namespace {

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

}  // namespace

http::Response Text(int status, const std::string& body) {
  return http::Response::Text(status, "text/plain; charset=utf-8", body);
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

}  // namespace pulp::core::content
