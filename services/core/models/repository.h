#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "services/core/util/json.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;
namespace models {

// A repository version named by a client (href or PRN), resolved.
struct VersionRef {
  std::string repository_pk;
  std::string repository_type;  // pulp_type of the repository, e.g. "file.file"
  int number = 0;
  std::string version_pk;
};

// Resolves "<api>repositories/<plugin>/<type>/<uuid>/versions/<n>/" (absolute URLs too) or
// "prn:core.repositoryversion:<uuid>". nullopt when it is well formed but names nothing;
// `*well_formed` tells the two failures apart.
std::optional<VersionRef> ResolveVersion(const AppContext& app, pqxx::transaction_base& tx,
                                         const std::string& ref, bool* well_formed);

// SQL condition: content `content_column` is in version `v` ("present"), was added by it, or
// was removed by it.
enum class Membership { kPresent, kAdded, kRemoved };
std::string VersionContentCondition(pqxx::transaction_base& tx, const VersionRef& v,
                                    const std::string& content_column, Membership which);

// The next version of a repository: starts from `base_number` (or the latest), removes
// `remove` (or everything with `remove_all`), adds `add`; content sharing a repository key with
// an added unit (file: relative_path) is replaced. Returns the new version's number, or
// nullopt when nothing changed (no version is created then). Locks the repository row.
// Throws std::runtime_error with upstream's message when two added units share a key.
std::optional<int> CreateVersion(AppContext& app, pqxx::transaction_base& tx,
                                 const std::string& repository_pk, std::optional<int> base_number,
                                 const std::vector<std::string>& add,
                                 const std::vector<std::string>& remove, bool remove_all);

// What follows a new version inside its transaction: versions beyond the repository's
// retain_repo_versions are deleted (oldest first; versions a distribution serves, directly or
// through a publication, are kept), then the repository type's on_new_version runs. Returns
// the resources the hook created.
std::vector<std::pair<std::string, std::string>> FinishNewVersion(AppContext& app,
                                                                  pqxx::transaction_base& tx,
                                                                  const std::string& repository_pk,
                                                                  int number);

// Deletes a version, squashing its changes into the next version (or undoing them when it is
// the latest). Throws std::runtime_error when it is the repository's only version.
void DeleteVersion(pqxx::transaction_base& tx, const std::string& version_pk);

// Href and PRN of version `number` of a repository (its type's href prefix is looked up).
std::pair<std::string, std::string> VersionHrefAndPrn(const AppContext& app,
                                                      pqxx::transaction_base& tx,
                                                      const std::string& repository_pk, int number);

}  // namespace models
}  // namespace pulp::core
