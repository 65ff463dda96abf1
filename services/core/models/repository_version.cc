#include "services/core/models/repository_version.h"

#include <regex>

#include "absl/strings/match.h"
#include "services/core/app_context.h"
#include "services/core/http/errors.h"
#include "services/core/util/uuid.h"

namespace pulp::core::models {

http::FilterDef RepositoryVersionFilter(const AppContext& app, const std::string& name) {
  const std::string api = app.ApiV3();
  http::FilterDef f;
  f.name = name;
  f.kind = http::FilterDef::kCustom;
  f.description = "Repository Version referenced by HREF/PRN";
  f.custom = [api, name](const std::string& value, pqxx::transaction_base&) -> std::string {
    static const std::regex kHref(
        R"(^/[^?#]*repositories/[a-z0-9_]+/[a-z0-9_]+/([0-9a-fA-F-]{36})/versions/\d+/$)");
    std::string path = value;
    if (const size_t scheme = path.find("://"); scheme != std::string::npos) {
      const size_t slash = path.find('/', scheme + 3);
      path = slash == std::string::npos ? "" : path.substr(slash);
    }
    std::smatch m;
    const bool well_formed =
        (absl::StartsWith(path, api) && std::regex_match(path, m, kHref) && IsUuid(m[1].str())) ||
        (absl::StartsWith(value, "prn:core.repositoryversion:") &&
         IsUuid(value.substr(value.rfind(':') + 1)));
    throw http::FieldError(name, well_formed ? "Invalid hyperlink - Object does not exist."
                                             : "Invalid hyperlink - No URL match.");
  };
  return f;
}

}  // namespace pulp::core::models
