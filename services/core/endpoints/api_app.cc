#include "services/core/endpoints/api_app.h"

#include <filesystem>
#include <iostream>
#include <memory>
#include <pqxx/except>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/app_context.h"
#include "services/core/auth/authenticator.h"
#include "services/core/db/pool.h"
#include "services/core/http/errors.h"
#include "services/core/util/uuid.h"

namespace pulp::core {
namespace {

// django-guid reuses an incoming id only when it parses as a UUID (32 hex digits, with or
// without the dashes); anything else is replaced by a fresh one.
bool AcceptableCorrelationId(const std::string& id) {
  if (IsUuid(id)) return true;
  if (id.size() != 32) return false;
  for (char c : id) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string MimeTypeOf(const std::string& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".js", "application/javascript"}, {".css", "text/css"},      {".html", "text/html"},
      {".json", "application/json"},     {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".map", "application/json"},      {".woff2", "font/woff2"},  {".ico", "image/x-icon"}};
  for (const auto& [ext, type] : kTypes) {
    if (absl::EndsWith(path, ext)) return type;
  }
  return "application/octet-stream";
}

http::Response ServeStatic(const AppContext& app, const http::Request& req) {
  const std::string rel = req.path.substr(app.settings.static_url.size());
  if (rel.empty() || absl::StrContains(rel, "..") || rel.front() == '/') {
    return http::Response::Json(404, Json{{"detail", "Not found."}});
  }
  const std::string path = absl::StrCat(app.settings.static_root, "/", rel);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return http::Response::Json(404, Json{{"detail", "Not found."}});
  }
  http::Response r;
  r.status = 200;
  r.content_type = MimeTypeOf(path);
  r.file_path = path;
  r.SetHeader("Cache-Control", "max-age=3600");
  return r;
}

http::Response Unauthenticated(const http::Request& req, const std::string& detail) {
  auto r = http::Response::Json(401, Json{{"detail", detail}});
  const bool xhr = req.Header("x-requested-with") == "XMLHttpRequest";
  r.SetHeader("WWW-Authenticate", xhr ? "xBasic realm=\"api\"" : "Basic realm=\"api\"");
  return r;
}

http::Response Handle(AppContext& app, const http::Router& router, auth::Authenticator& auth,
                      http::Request& req) {
  if (absl::StartsWith(req.path, app.settings.static_url) &&
      (req.method == "GET" || req.method == "HEAD")) {
    return ServeStatic(app, req);
  }
  const http::Router::Match match = router.Find(req);
  if (match.route == nullptr) {
    if (match.error_status == 405) {
      auto r = http::Response::Json(
          405, Json{{"detail", absl::StrCat("Method \"", req.method, "\" not allowed.")}});
      std::vector<std::string> allowed = match.allowed_methods;
      r.SetHeader("Allow", absl::StrJoin(allowed, ", "));
      return r;
    }
    return http::Response::Json(404, Json{{"detail", "Not found."}});
  }
  // Public views (status, livez, root, schema) never look at credentials, as upstream's with
  // authentication_classes = []: a stale password in a client cannot break `pulp status`.
  if (!match.route->operation.anonymous) {
    const auth::Authenticator::Result who = auth.Authenticate(req);
    if (who.outcome == auth::Authenticator::Outcome::kInvalid)
      return Unauthenticated(req, who.error);
    if (who.outcome == auth::Authenticator::Outcome::kOk) req.user = who.user;
    if (!req.user) return Unauthenticated(req, "Authentication credentials were not provided.");
    if (!req.user->is_superuser) {
      return http::Response::Json(
          403, Json{{"detail", "You do not have permission to perform this action."}});
    }
  }
  return match.route->handler(req);
}

}  // namespace

http::Handler MakeApiHandler(AppContext& app, const http::Router& router) {
  auto authenticator = std::make_shared<auth::Authenticator>(*app.pool);
  return [&app, &router, authenticator](http::Request& req) {
    const std::string incoming = req.Header("correlation-id");
    req.correlation_id = AcceptableCorrelationId(incoming) ? incoming : RandomHex(16);
    http::Response res;
    try {
      res = Handle(app, router, *authenticator, req);
    } catch (const http::ApiError& e) {
      res = e.ToResponse();
    } catch (const pqxx::broken_connection& e) {
      app.pool->DropIdle();
      res = http::Response::Json(503, Json{{"detail", "Database unavailable."}});
    } catch (const std::exception& e) {
      std::cerr << "error: " << req.method << " " << req.path << " [" << req.correlation_id
                << "]: " << e.what() << std::endl;
      res = http::Response::Json(500, Json{{"detail", "Internal Server Error"}});
    }
    res.SetHeader("Correlation-ID", req.correlation_id);
    res.SetHeader("Access-Control-Expose-Headers", "Correlation-ID");
    res.SetHeader("Vary", "Accept, Cookie");
    return res;
  };
}

}  // namespace pulp::core
