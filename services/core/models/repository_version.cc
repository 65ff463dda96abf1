#include "services/core/models/repository_version.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/http/errors.h"

namespace pulp::core::models {

http::FilterDef RepositoryVersionFilter(const AppContext& app, const std::string& name,
                                        Membership which, const std::string& content_column,
                                        bool via_artifact) {
  http::FilterDef f;
  f.name = name;
  f.kind = http::FilterDef::kCustom;
  f.description = "Repository Version referenced by HREF/PRN";
  const AppContext* appp = &app;
  f.custom = [appp, name, which, content_column, via_artifact](
                 const std::string& value, pqxx::transaction_base& tx) -> std::string {
    bool well_formed = false;
    auto version = ResolveVersion(*appp, tx, value, &well_formed);
    if (!version) {
      throw http::FieldError(name, well_formed ? "Invalid hyperlink - Object does not exist."
                                               : "Invalid hyperlink - No URL match.");
    }
    if (!via_artifact) return VersionContentCondition(tx, *version, content_column, which);
    return absl::StrCat(
        "EXISTS (SELECT 1 FROM core_contentartifact va WHERE va.artifact_id = ", content_column,
        " AND ", VersionContentCondition(tx, *version, "va.content_id", which), ")");
  };
  return f;
}

}  // namespace pulp::core::models
