#include "services/core/models/repository.h"

#include <pqxx/pqxx>
#include <regex>
#include <stdexcept>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/core/app_context.h"
#include "services/core/models/repository_type.h"
#include "services/core/util/uuid.h"

namespace pulp::core::models {
namespace {

std::string UuidList(pqxx::transaction_base& tx, const std::vector<std::string>& ids) {
  std::vector<std::string> quoted;
  for (const auto& id : ids) quoted.push_back(tx.quote(id) + "::uuid");
  return absl::StrCat("ARRAY[", absl::StrJoin(quoted, ","), "]::uuid[]");
}

}  // namespace

std::optional<VersionRef> ResolveVersion(const AppContext& app, pqxx::transaction_base& tx,
                                         const std::string& ref, bool* well_formed) {
  static const std::regex kHref(
      R"(^/[^?#]*repositories/[a-z0-9_]+/[a-z0-9_]+/([0-9a-fA-F-]{36})/versions/(\d{1,9})/$)");
  std::string path = ref;
  if (const size_t scheme = path.find("://"); scheme != std::string::npos) {
    const size_t slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "" : path.substr(slash);
  }
  std::smatch m;
  std::string where;
  if (absl::StartsWith(path, app.ApiV3()) && std::regex_match(path, m, kHref) &&
      IsUuid(m[1].str())) {
    where = absl::StrCat("v.repository_id = ", tx.quote(m[1].str()),
                         "::uuid AND v.number = ", m[2].str());
  } else if (absl::StartsWith(ref, "prn:core.repositoryversion:") &&
             IsUuid(ref.substr(ref.rfind(':') + 1))) {
    where = absl::StrCat("v.pulp_id = ", tx.quote(ref.substr(ref.rfind(':') + 1)), "::uuid");
  } else {
    *well_formed = false;
    return std::nullopt;
  }
  *well_formed = true;
  pqxx::result r = tx.exec(absl::StrCat(
      "SELECT v.repository_id::text, r.pulp_type, v.number, v.pulp_id::text"
      " FROM core_repositoryversion v JOIN core_repository r ON r.pulp_id = v.repository_id"
      " WHERE v.complete AND ",
      where));
  if (r.empty()) return std::nullopt;
  return VersionRef{r[0][0].as<std::string>(), r[0][1].as<std::string>(), r[0][2].as<int>(),
                    r[0][3].as<std::string>()};
}

std::string VersionContentCondition(pqxx::transaction_base& tx, const VersionRef& v,
                                    const std::string& content_column, Membership which) {
  const std::string span = absl::StrCat(
      "SELECT 1 FROM core_repositorycontent rc WHERE rc.repository_id = ",
      tx.quote(v.repository_pk), "::uuid AND rc.content_id = ", content_column, " AND ");
  switch (which) {
    case Membership::kAdded:
      return absl::StrCat("EXISTS (", span, "rc.version_added = ", v.number, ")");
    case Membership::kRemoved:
      return absl::StrCat("EXISTS (", span, "rc.version_removed = ", v.number, ")");
    case Membership::kPresent:
      break;
  }
  return absl::StrCat("EXISTS (", span, "rc.version_added <= ", v.number,
                      " AND (rc.version_removed IS NULL OR rc.version_removed > ", v.number, "))");
}

std::optional<int> CreateVersion(AppContext& app, pqxx::transaction_base& tx,
                                 const std::string& repository_pk, std::optional<int> base_number,
                                 const std::vector<std::string>& add,
                                 const std::vector<std::string>& remove, bool remove_all) {
  const std::string repo = tx.quote(repository_pk) + "::uuid";
  pqxx::result locked =
      tx.exec("SELECT next_version FROM core_repository WHERE pulp_id = " + repo + " FOR UPDATE");
  if (locked.empty()) throw std::runtime_error("The repository no longer exists.");
  const int number = locked[0][0].as<int>();
  const int base = base_number.value_or(number - 1);

  // The target content: the base version, minus removals, minus units whose repository key an
  // added unit takes over, plus the additions.
  tx.exec("CREATE TEMP TABLE pulp_target (content_id uuid PRIMARY KEY) ON COMMIT DROP");
  if (!remove_all) {
    tx.exec(
        absl::StrCat("INSERT INTO pulp_target SELECT content_id FROM core_repositorycontent WHERE"
                     " repository_id = ",
                     repo, " AND version_added <= ", base,
                     " AND (version_removed IS NULL OR version_removed > ", base, ")"));
    if (!remove.empty()) {
      tx.exec("DELETE FROM pulp_target WHERE content_id = ANY(" + UuidList(tx, remove) + ")");
    }
  }
  // The additions go to a temporary table by COPY: a 100,000-element array literal costs
  // seconds to parse, and every statement below would parse it again.
  tx.exec("CREATE TEMP TABLE pulp_added (content_id uuid) ON COMMIT DROP");
  if (!add.empty()) {
    pqxx::stream_to rows(tx, "pulp_added", std::vector<std::string>{"content_id"});
    for (const auto& id : add) rows << std::make_tuple(id);
    rows.complete();
  }
  const std::string added = "SELECT content_id FROM pulp_added";
  for (const auto& [type_name, type] : app.content_types) {
    if (type.key_table.empty() || add.empty()) continue;
    const std::string key = absl::StrCat(type.key_table, ".", type.key_column);
    pqxx::result dup =
        tx.exec(absl::StrCat("SELECT ", key, " FROM ", type.key_table, " WHERE ", type.key_fk,
                             " IN (", added, ") GROUP BY ", key, " HAVING count(*) > 1 LIMIT 1"));
    if (!dup.empty()) {
      throw std::runtime_error(absl::StrCat("Cannot create repository version. More than one ",
                                            type_name, " content with the duplicate values for ",
                                            type.key_column, ": ", dup[0][0].as<std::string>(),
                                            "."));
    }
    tx.exec(absl::StrCat("DELETE FROM pulp_target t USING ", type.key_table, " old, ",
                         type.key_table, " new WHERE old.", type.key_fk, " = t.content_id AND new.",
                         type.key_fk, " IN (", added, ") AND new.", type.key_column, " = old.",
                         type.key_column, " AND old.", type.key_fk, " <> new.", type.key_fk));
  }
  if (!add.empty()) {
    tx.exec("INSERT INTO pulp_target " + added + " ON CONFLICT DO NOTHING");
  }

  // Close the spans of content leaving, open spans for content arriving.
  pqxx::result closed = tx.exec(
      absl::StrCat("UPDATE core_repositorycontent SET version_removed = ", number,
                   " WHERE repository_id = ", repo,
                   " AND version_removed IS NULL AND content_id NOT IN (SELECT content_id FROM"
                   " pulp_target) RETURNING 1"));
  pqxx::result opened = tx.exec(absl::StrCat(
      "INSERT INTO core_repositorycontent (pulp_id, repository_id, content_id, version_added)"
      " SELECT gen_random_uuid(), ",
      repo, ", t.content_id, ", number,
      " FROM pulp_target t WHERE NOT EXISTS (SELECT 1 FROM core_repositorycontent rc WHERE"
      " rc.repository_id = ",
      repo,
      " AND rc.content_id = t.content_id AND rc.version_removed"
      " IS NULL) RETURNING 1"));
  tx.exec("DROP TABLE pulp_target");
  if (closed.empty() && opened.empty()) {
    tx.exec("DROP TABLE pulp_added");
    return std::nullopt;
  }

  const std::string base_pk =
      base_number
          ? absl::StrCat("(SELECT pulp_id FROM core_repositoryversion WHERE repository_id = ", repo,
                         " AND number = ", *base_number, ")")
          : "NULL";
  tx.exec(
      absl::StrCat("INSERT INTO core_repositoryversion (pulp_id, repository_id, number, complete,"
                   " base_version_id) VALUES (",
                   tx.quote(NewUuid()), ", ", repo, ", ", number, ", TRUE, ", base_pk, ")"));
  tx.exec(absl::StrCat("UPDATE core_repository SET next_version = ", number + 1,
                       ", pulp_last_updated = clock_timestamp() WHERE pulp_id = ", repo));
  // Content in a repository is no longer an orphan candidate; keep its clock fresh.
  tx.exec(
      absl::StrCat("UPDATE core_content SET timestamp_of_interest = clock_timestamp() WHERE"
                   " pulp_id IN (",
                   added, ")"));
  tx.exec("DROP TABLE pulp_added");
  return number;
}

std::vector<std::pair<std::string, std::string>> FinishNewVersion(AppContext& app,
                                                                  pqxx::transaction_base& tx,
                                                                  const std::string& repository_pk,
                                                                  int number) {
  const std::string repo = tx.quote(repository_pk) + "::uuid";
  pqxx::result r = tx.exec(
      "SELECT pulp_type, retain_repo_versions FROM core_repository WHERE"
      " pulp_id = " +
      repo);
  if (r.empty()) throw std::runtime_error("The repository no longer exists.");
  if (!r[0][1].is_null()) {
    // Upstream counts only unprotected versions against the limit, newest first.
    pqxx::result old = tx.exec(absl::StrCat(
        "SELECT v.pulp_id::text FROM core_repositoryversion v WHERE v.repository_id = ", repo,
        " AND v.complete AND v.number <> ", number,
        " AND NOT EXISTS (SELECT 1 FROM core_distribution d WHERE d.repository_version_id ="
        " v.pulp_id) AND NOT EXISTS (SELECT 1 FROM core_distribution d JOIN core_publication p"
        " ON p.pulp_id = d.publication_id WHERE p.repository_version_id = v.pulp_id)"
        " ORDER BY v.number DESC OFFSET ",
        r[0][1].as<int>() - 1));
    for (const auto& row : old) DeleteVersion(tx, row[0].as<std::string>());
  }
  auto type = app.repository_types.find(r[0][0].as<std::string>());
  if (type == app.repository_types.end() || !type->second->on_new_version) return {};
  return type->second->on_new_version(app, tx, repository_pk, number);
}

void DeleteVersion(pqxx::transaction_base& tx, const std::string& version_pk) {
  pqxx::result v = tx.exec(
      "SELECT repository_id::text, number FROM core_repositoryversion WHERE"
      " pulp_id = " +
      tx.quote(version_pk) + "::uuid");
  if (v.empty()) throw std::runtime_error("The repository version no longer exists.");
  const std::string repo = tx.quote(v[0][0].as<std::string>()) + "::uuid";
  const int n = v[0][1].as<int>();
  tx.exec("SELECT 1 FROM core_repository WHERE pulp_id = " + repo + " FOR UPDATE");
  pqxx::result others = tx.exec(absl::StrCat("SELECT min(number) FILTER (WHERE number > ", n,
                                             "), count(*) FROM core_repositoryversion"
                                             " WHERE repository_id = ",
                                             repo, " AND complete AND number <> ", n));
  if (others[0][1].as<int64_t>() == 0) {
    throw std::runtime_error(
        "Cannot delete repository version. Repositories must have at least one"
        " repository version.");
  }
  if (others[0][0].is_null()) {
    // The latest version: its changes are undone, so the previous one is current again.
    tx.exec(absl::StrCat("DELETE FROM core_repositorycontent WHERE repository_id = ", repo,
                         " AND version_added = ", n));
    tx.exec(
        absl::StrCat("UPDATE core_repositorycontent SET version_removed = NULL WHERE"
                     " repository_id = ",
                     repo, " AND version_removed = ", n));
  } else {
    // Squash into the next version m: what n added shows up in m (unless m removed it again),
    // what n removed stays removed in m.
    const int m = others[0][0].as<int>();
    tx.exec(absl::StrCat("DELETE FROM core_repositorycontent WHERE repository_id = ", repo,
                         " AND version_added = ", n, " AND version_removed = ", m));
    tx.exec(absl::StrCat("UPDATE core_repositorycontent SET version_added = ", m,
                         " WHERE repository_id = ", repo, " AND version_added = ", n));
    tx.exec(absl::StrCat("UPDATE core_repositorycontent SET version_removed = ", m,
                         " WHERE repository_id = ", repo, " AND version_removed = ", n));
  }
  tx.exec("DELETE FROM core_repositoryversion WHERE pulp_id = " + tx.quote(version_pk) + "::uuid");
}

std::pair<std::string, std::string> VersionHrefAndPrn(const AppContext& app,
                                                      pqxx::transaction_base& tx,
                                                      const std::string& repository_pk,
                                                      int number) {
  pqxx::result r = tx.exec(absl::StrCat(
      "SELECT r.pulp_type, v.pulp_id::text FROM core_repository r JOIN core_repositoryversion v"
      " ON v.repository_id = r.pulp_id WHERE r.pulp_id = ",
      tx.quote(repository_pk), "::uuid AND v.number = ", number));
  if (r.empty()) throw std::runtime_error("The repository version no longer exists.");
  auto type = app.repository_types.find(r[0][0].as<std::string>());
  const std::string prefix = type == app.repository_types.end() ? app.ApiV3() + "repositories/"
                                                                : type->second->href_prefix;
  return {absl::StrCat(prefix, repository_pk, "/versions/", number, "/"),
          "prn:core.repositoryversion:" + r[0][1].as<std::string>()};
}

}  // namespace pulp::core::models
