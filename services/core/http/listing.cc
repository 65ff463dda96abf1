#include "services/core/http/listing.h"

#include <pqxx/pqxx>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "services/core/db/pool.h"
#include "services/core/http/errors.h"
#include "services/core/util/uuid.h"

namespace pulp::core::http {
namespace {

const std::set<std::string> kReservedParams = {"exclude_fields", "fields",    "limit",    "minimal",
                                               "offset",         "page_size", "ordering", "format"};
constexpr int kPageSize = 100;

std::vector<std::string> CommaList(const std::string& v) {
  std::vector<std::string> out;
  for (absl::string_view p : absl::StrSplit(v, ',', absl::SkipEmpty())) {
    out.emplace_back(absl::StripAsciiWhitespace(p));
  }
  return out;
}

// All values of a parameter; repeated keys and comma lists both count.
std::vector<std::string> ListValues(const Request& request, const std::string& name) {
  std::vector<std::string> out;
  for (const std::string& v : request.QueryValues(name)) {
    for (auto& item : CommaList(v)) out.push_back(std::move(item));
  }
  return out;
}

std::string LikeEscape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

std::string InList(pqxx::transaction_base& tx, const std::vector<std::string>& values,
                   const std::string& cast = "") {
  if (values.empty()) return "(NULL)";
  std::vector<std::string> quoted;
  for (const auto& v : values) quoted.push_back(tx.quote(v) + cast);
  return absl::StrCat("(", absl::StrJoin(quoted, ","), ")");
}

bool ParseBool(const std::string& v, bool* out) {
  const std::string l = absl::AsciiStrToLower(v);
  if (l == "true" || l == "1" || l == "yes") {
    *out = true;
    return true;
  }
  if (l == "false" || l == "0" || l == "no") {
    *out = false;
    return true;
  }
  return false;
}

[[noreturn]] void BadValue(const std::string& param, const std::string& message) {
  throw FieldError(param, message);
}

std::string Comparison(const std::string& lookup) {
  if (lookup == "lt") return "<";
  if (lookup == "lte") return "<=";
  if (lookup == "gt") return ">";
  if (lookup == "gte") return ">=";
  if (lookup == "ne") return "<>";
  return "=";
}

// One SQL condition for `param` = `value` against filter `f` with `lookup`.
std::string Condition(const FilterDef& f, const std::string& lookup, const std::string& param,
                      const std::string& value, pqxx::transaction_base& tx) {
  const std::string& col = f.column;
  if (lookup == "isnull") {
    bool b;
    if (!ParseBool(value, &b)) BadValue(param, "Enter a valid boolean.");
    return absl::StrCat(col, b ? " IS NULL" : " IS NOT NULL");
  }
  switch (f.kind) {
    case FilterDef::kCustom:
      return f.custom(value, tx);
    case FilterDef::kText: {
      if (lookup.empty()) return absl::StrCat(col, " = ", tx.quote(value));
      if (lookup == "ne") return absl::StrCat(col, " IS DISTINCT FROM ", tx.quote(value));
      if (lookup == "iexact")
        return absl::StrCat("lower(", col, ") = lower(", tx.quote(value), ")");
      if (lookup == "in") return absl::StrCat(col, " IN ", InList(tx, CommaList(value)));
      if (lookup == "contains") {
        return absl::StrCat(col, " LIKE ", tx.quote("%" + LikeEscape(value) + "%"));
      }
      if (lookup == "icontains") {
        return absl::StrCat(col, " ILIKE ", tx.quote("%" + LikeEscape(value) + "%"));
      }
      if (lookup == "startswith") {
        return absl::StrCat(col, " LIKE ", tx.quote(LikeEscape(value) + "%"));
      }
      if (lookup == "istartswith") {
        return absl::StrCat(col, " ILIKE ", tx.quote(LikeEscape(value) + "%"));
      }
      if (lookup == "regex" || lookup == "iregex") {
        // Validate the pattern with Postgres itself so a bad one is a 400, not a failed query.
        auto* dbtx = dynamic_cast<pqxx::dbtransaction*>(&tx);
        if (dbtx == nullptr) BadValue(param, "Enter a valid regular expression.");
        try {
          pqxx::subtransaction probe(*dbtx, "regex_probe");
          probe.exec(absl::StrCat("SELECT '' ~ ", tx.quote(value)));
          probe.commit();
        } catch (const std::exception&) {
          BadValue(param, "Enter a valid regular expression.");
        }
        return absl::StrCat(col, lookup == "regex" ? " ~ " : " ~* ", tx.quote(value));
      }
      break;
    }
    case FilterDef::kChoice: {
      std::vector<std::string> values = lookup == "in" ? CommaList(value) : std::vector{value};
      for (const auto& v : values) {
        if (std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end()) {
          BadValue(param, absl::StrCat("Select a valid choice. ", v,
                                       " is not one of the available choices."));
        }
      }
      if (lookup == "in") return absl::StrCat(col, " IN ", InList(tx, values));
      return absl::StrCat(col, Comparison(lookup), tx.quote(value));
    }
    case FilterDef::kBool: {
      bool b;
      if (!ParseBool(value, &b)) BadValue(param, "Enter a valid boolean.");
      return absl::StrCat(col, " = ", b ? "TRUE" : "FALSE");
    }
    case FilterDef::kNumber: {
      if (lookup == "range" || lookup == "in") {
        std::vector<std::string> parts = CommaList(value);
        std::vector<std::string> nums;
        for (const auto& p : parts) {
          int64_t n;
          if (!absl::SimpleAtoi(p, &n)) BadValue(param, "Enter a number.");
          nums.push_back(absl::StrCat(n));
        }
        if (lookup == "in") return absl::StrCat(col, " IN (", absl::StrJoin(nums, ","), ")");
        if (nums.size() != 2) BadValue(param, "Enter a number.");
        return absl::StrCat(col, " BETWEEN ", nums[0], " AND ", nums[1]);
      }
      int64_t n;
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(value), &n))
        BadValue(param, "Enter a number.");
      return absl::StrCat(col, " ", Comparison(lookup), " ", n);
    }
    case FilterDef::kDateTime: {
      if (lookup == "range") {
        std::vector<std::string> parts = absl::StrSplit(value, ',');
        if (parts.size() != 2) BadValue(param, "Enter a valid date/time.");
        std::string a = ParseDateTime(parts[0]), b = ParseDateTime(parts[1]);
        if (a.empty() || b.empty()) BadValue(param, "Enter a valid date/time.");
        return absl::StrCat(col, " BETWEEN ", tx.quote(a), "::timestamptz AND ", tx.quote(b),
                            "::timestamptz");
      }
      std::string t = ParseDateTime(value);
      if (t.empty()) BadValue(param, "Enter a valid date/time.");
      return absl::StrCat(col, " ", Comparison(lookup), " ", tx.quote(t), "::timestamptz");
    }
  }
  BadValue(param, "Unsupported lookup.");
}

std::string LabelCondition(const std::string& column, const std::string& value,
                           pqxx::transaction_base& tx) {
  // Terms are comma-separated; "\," is a literal comma inside a term.
  std::vector<std::string> terms;
  std::string cur;
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size() && value[i + 1] == ',') {
      cur.push_back(',');
      ++i;
    } else if (value[i] == ',') {
      terms.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(value[i]);
    }
  }
  terms.push_back(cur);
  std::vector<std::string> conds;
  for (std::string term : terms) {
    term = std::string(absl::StripAsciiWhitespace(term));
    if (term.empty()) continue;
    std::string key, val, op;
    for (const char* candidate : {"!=", "=", "~"}) {
      const size_t at = term.find(candidate);
      if (at != std::string::npos) {
        op = candidate;
        key = std::string(absl::StripAsciiWhitespace(term.substr(0, at)));
        val = std::string(absl::StripAsciiWhitespace(term.substr(at + op.size())));
        break;
      }
    }
    if (op.empty()) {
      const bool negate = term[0] == '!';
      key = negate ? term.substr(1) : term;
      conds.push_back(absl::StrCat(negate ? "NOT " : "", "(", column, " ? ", tx.quote(key), ")"));
      continue;
    }
    if (key.empty())
      throw FieldError("pulp_label_select", absl::StrCat("Invalid search term: ", term));
    const std::string field = absl::StrCat("(", column, " ->> ", tx.quote(key), ")");
    if (op == "=") conds.push_back(absl::StrCat(field, " = ", tx.quote(val)));
    if (op == "!=") {
      conds.push_back(absl::StrCat("(", column, " ? ", tx.quote(key), ") AND ", field,
                                   " IS DISTINCT FROM ", tx.quote(val)));
    }
    if (op == "~")
      conds.push_back(absl::StrCat(field, " ILIKE ", tx.quote("%" + LikeEscape(val) + "%")));
  }
  if (conds.empty()) return "TRUE";
  return absl::StrJoin(conds, " AND ");
}

std::string PkListCondition(const ListSpec& spec, const std::string& param,
                            const std::vector<std::string>& values, pqxx::transaction_base& tx) {
  std::vector<std::string> pks;
  for (const auto& v : values) {
    std::string pk;
    if (param == "pulp_id__in") {
      if (!IsUuid(v)) BadValue(param, "Enter a valid UUID.");
      pk = v;
    } else if (param == "prn__in") {
      pk = PkFromPrn(v, spec.prn_type);
      if (pk.empty()) BadValue(param, absl::StrCat("PRN not valid: ", v));
    } else {
      pk = absl::StartsWith(v, "prn:") ? PkFromPrn(v, spec.prn_type)
                                       : PkFromHref(v, spec.href_prefix);
      if (pk.empty()) BadValue(param, absl::StrCat("URI not valid: ", v));
    }
    pks.push_back(absl::AsciiStrToLower(pk));
  }
  return absl::StrCat(spec.pk_column, " IN ", InList(tx, pks, "::uuid"));
}

struct BuiltQuery {
  std::string where;
  std::string order_by;
};

BuiltQuery BuildQuery(const ListSpec& spec, const Request& request, pqxx::transaction_base& tx) {
  std::vector<std::string> conds = {spec.where};
  std::set<std::string> seen;
  for (const auto& [param, raw_value] : request.query) {
    if (kReservedParams.count(param) || seen.count(param)) continue;
    seen.insert(param);
    if (!spec.ignore_unknown_params &&
        (param == "pulp_id__in" || param == "pulp_href__in" || param == "prn__in")) {
      conds.push_back(PkListCondition(spec, param, ListValues(request, param), tx));
      continue;
    }
    if (param == "pulp_label_select" && !spec.labels_column.empty()) {
      conds.push_back(LabelCondition(spec.labels_column, raw_value, tx));
      continue;
    }
    const FilterDef* match = nullptr;
    std::string lookup;
    for (const FilterDef& f : spec.filters) {
      for (const std::string& l : f.lookups) {
        if (param == (l.empty() ? f.name : absl::StrCat(f.name, "__", l))) {
          match = &f;
          lookup = l;
        }
      }
    }
    if (match == nullptr && spec.ignore_unknown_params) continue;
    if (match == nullptr) {
      throw ApiError(400, core::Json{{"errors", {absl::StrCat("Invalid Filter: '", param, "'")}}});
    }
    // Repeated `__in` keys are one list, as a client with `explode: true` sends them.
    std::string value = raw_value;
    if (lookup == "in") value = absl::StrJoin(ListValues(request, param), ",");
    if (value.empty() && lookup != "in" && match->kind != FilterDef::kCustom) continue;
    conds.push_back(absl::StrCat("(", Condition(*match, lookup, param, value, tx), ")"));
  }

  std::vector<std::string> order;
  for (const std::string& field : ListValues(request, "ordering")) {
    const bool desc = field[0] == '-';
    const std::string name = desc ? field.substr(1) : field;
    // Every filterset upstream also orders by "pk".
    const std::string column =
        name == "pk" ? spec.pk_column
                     : (spec.ordering.count(name) ? spec.ordering.at(name) : std::string());
    if (column.empty()) {
      BadValue("ordering", absl::StrCat("Select a valid choice. ", field,
                                        " is not one of the available choices."));
    }
    order.push_back(absl::StrCat(column, desc ? " DESC" : " ASC"));
  }
  // Upstream always appends -pulp_created: the default order is newest first and pages are
  // stable. The pk breaks ties between rows created in the same microsecond.
  order.push_back(absl::StrCat(spec.created_column, " DESC"));
  order.push_back(absl::StrCat(spec.pk_column, " DESC"));
  return {absl::StrJoin(conds, " AND "), absl::StrJoin(order, ", ")};
}

int ParseNonNegative(const std::optional<std::string>& v, int fallback, bool allow_zero) {
  int n;
  if (!v || !absl::SimpleAtoi(*v, &n) || n < 0 || (n == 0 && !allow_zero)) return fallback;
  return n;
}

std::string PageUrl(const Request& request, int limit, int offset, bool with_offset) {
  std::vector<std::pair<std::string, std::string>> params;
  for (const auto& [k, v] : request.query) {
    if (k != "limit" && k != "offset") params.emplace_back(k, v);
  }
  params.emplace_back("limit", absl::StrCat(limit));
  if (with_offset) params.emplace_back("offset", absl::StrCat(offset));
  std::stable_sort(params.begin(), params.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) parts.push_back(PercentEncode(k) + "=" + PercentEncode(v));
  return absl::StrCat(request.Origin(), PercentEncode(request.path), "?",
                      absl::StrJoin(parts, "&"));
}

core::Json Render(const ListSpec& spec, const pqxx::row& row, const Request& request) {
  core::Json obj = spec.serialize(row);
  bool minimal = false;
  if (auto m = request.QueryValue("minimal"); m && !spec.minimal_fields.empty()) {
    minimal = *m == "true" || *m == "True" || *m == "1";
  }
  if (minimal) {
    core::Json slim = core::Json::object();
    for (const auto& k : spec.minimal_fields) {
      if (obj.contains(k)) slim[k] = obj[k];
    }
    obj = std::move(slim);
  }
  return SelectFields(obj, request);
}

}  // namespace

std::vector<std::string> NameLookups() {
  return {"",           "iexact",      "in",    "contains", "icontains",
          "startswith", "istartswith", "regex", "iregex"};
}
std::vector<std::string> DateTimeLookups() {
  return {"", "lt", "lte", "gt", "gte", "range", "isnull"};
}
std::vector<std::string> NumberLookups() {
  return {"", "ne", "lt", "lte", "gt", "gte", "range", "isnull"};
}

std::string ParseDateTime(const std::string& raw) {
  std::string value(absl::StripAsciiWhitespace(raw));
  absl::Time t;
  std::string err;
  for (const char* fmt :
       {absl::RFC3339_full, "%Y-%m-%dT%H:%M:%E*S", "%Y-%m-%d %H:%M:%E*S", "%Y-%m-%d %H:%M:%E*S%Ez",
        "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"}) {
    if (absl::ParseTime(fmt, value, absl::UTCTimeZone(), &t, &err)) {
      return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
    }
  }
  // Python's "Z"-less offsets like +00:00 are covered by RFC3339_full; "Z" with fraction too.
  return "";
}

std::string PkFromHref(const std::string& href, const std::string& prefix) {
  std::string path = href;
  if (const size_t scheme = path.find("://"); scheme != std::string::npos) {
    const size_t slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "" : path.substr(slash);
  }
  if (!absl::StartsWith(path, prefix)) return "";
  std::string rest = path.substr(prefix.size());
  if (rest.size() != 37 || rest.back() != '/') return "";
  rest.pop_back();
  return IsUuid(rest) ? absl::AsciiStrToLower(rest) : "";
}

std::string PkFromPrn(const std::string& prn, const std::string& prn_type) {
  const std::string prefix = absl::StrCat("prn:", prn_type, ":");
  if (!absl::StartsWith(prn, prefix)) return "";
  std::string pk = prn.substr(prefix.size());
  return IsUuid(pk) ? absl::AsciiStrToLower(pk) : "";
}

core::Json SelectFields(const core::Json& object, const Request& request) {
  std::vector<std::string> include = ListValues(request, "fields");
  std::vector<std::string> exclude = ListValues(request, "exclude_fields");
  if (include.empty() && exclude.empty()) return object;
  core::Json out = core::Json::object();
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string& k = it.key();
    if (!include.empty() && std::find(include.begin(), include.end(), k) == include.end()) continue;
    if (std::find(exclude.begin(), exclude.end(), k) != exclude.end()) continue;
    out[k] = it.value();
  }
  return out;
}

Response ListResource(const ListSpec& spec, Request& request, db::Pool& pool) {
  const int limit = ParseNonNegative(request.QueryValue("limit"), kPageSize, false);
  const int offset = ParseNonNegative(request.QueryValue("offset"), 0, true);
  auto lease = pool.Acquire();
  if (!lease.ok()) throw FromStatus(lease.status());
  // Autocommit reads, as Django's: the count and the page are two statements, no BEGIN/COMMIT.
  pqxx::nontransaction tx(**lease);
  BuiltQuery q = BuildQuery(spec, request, tx);
  const std::string& filter_from = spec.filter_from.empty() ? spec.from : spec.filter_from;
  const bool unfiltered = q.where == spec.where;
  const std::string count_sql =
      absl::StrCat("SELECT count(*) FROM ",
                   unfiltered && !spec.count_from.empty() ? spec.count_from : filter_from,
                   " WHERE ", unfiltered && !spec.count_from.empty() ? "TRUE" : q.where);
  // The page is chosen on the narrow join, then only its rows are fetched and rendered.
  const std::string page_sql = absl::StrCat(
      "WITH page AS MATERIALIZED (SELECT ", spec.pk_column, " AS pk FROM ", filter_from, " WHERE ",
      q.where, " ORDER BY ", q.order_by, " LIMIT $1 OFFSET $2) SELECT ", spec.columns, " FROM ",
      spec.from, " JOIN page ON page.pk = ", spec.pk_column, " ORDER BY ", q.order_by);
  int64_t count;
  pqxx::result rows;
  if (unfiltered) {
    // Without filter values the SQL text is fixed per resource and ordering, so it is prepared
    // once per connection and Postgres skips planning on every page.
    const std::string count_name = absl::StrCat("c", std::hash<std::string>{}(count_sql));
    const std::string page_name = absl::StrCat("p", std::hash<std::string>{}(page_sql));
    (*lease)->prepare(count_name, count_sql);
    (*lease)->prepare(page_name, page_sql);
    count = tx.exec_prepared1(count_name)[0].as<int64_t>();
    rows = tx.exec_prepared(page_name, limit, offset);
  } else {
    count = tx.exec1(count_sql)[0].as<int64_t>();
    rows = tx.exec_params(page_sql, limit, offset);
  }
  core::Json results = core::Json::array();
  for (const auto& row : rows) results.push_back(Render(spec, row, request));
  core::Json body;
  body["count"] = count;
  body["next"] = offset + limit < count ? core::Json(PageUrl(request, limit, offset + limit, true))
                                        : core::Json(nullptr);
  if (offset <= 0) {
    body["previous"] = nullptr;
  } else {
    body["previous"] = offset - limit <= 0 ? PageUrl(request, limit, 0, false)
                                           : PageUrl(request, limit, offset - limit, true);
  }
  body["results"] = std::move(results);
  return Response::Json(200, body);
}

std::optional<core::Json> FetchOne(const ListSpec& spec, pqxx::transaction_base& tx,
                                   const std::string& pk) {
  if (!IsUuid(pk)) return std::nullopt;
  pqxx::result rows =
      tx.exec(absl::StrCat("SELECT ", spec.columns, " FROM ", spec.from, " WHERE ", spec.where,
                           " AND ", spec.pk_column, " = ", tx.quote(pk), "::uuid"));
  if (rows.empty()) return std::nullopt;
  return spec.serialize(rows[0]);
}

Response ReadResource(const ListSpec& spec, Request& request, db::Pool& pool,
                      const std::string& pk) {
  if (!IsUuid(pk)) throw DetailError(404, "Not found.");
  auto lease = pool.Acquire();
  if (!lease.ok()) throw FromStatus(lease.status());
  pqxx::nontransaction tx(**lease);
  if (!IsUuid(pk)) throw DetailError(404, "Not found.");
  pqxx::result rows =
      tx.exec(absl::StrCat("SELECT ", spec.columns, " FROM ", spec.from, " WHERE ", spec.where,
                           " AND ", spec.pk_column, " = ", tx.quote(pk), "::uuid"));
  if (rows.empty()) throw NotFoundError(spec.model_name);
  return Response::Json(200, Render(spec, rows[0], request));
}

std::vector<Parameter> FieldSelectionParameters() {
  core::Json array = {{"type", "array"}, {"items", {{"type", "string"}}}};
  return {
      {"fields", "query", array, false, "A list of fields to include in the response."},
      {"exclude_fields", "query", array, false, "A list of fields to exclude from the response."},
  };
}

std::vector<Parameter> ListParameters(const ListSpec& spec) {
  const core::Json string_schema = {{"type", "string"}};
  const core::Json array_schema = {{"type", "array"}, {"items", {{"type", "string"}}}};
  std::vector<Parameter> out = {
      {"limit", "query", {{"type", "integer"}}, false, "Number of results to return per page."},
      {"offset",
       "query",
       {{"type", "integer"}},
       false,
       "The initial index from which to return the results."},
  };
  std::vector<std::string> order_fields;
  std::map<std::string, std::string> ordering = spec.ordering;
  ordering.emplace("pk", spec.pk_column);
  for (const auto& [name, col] : ordering) {
    order_fields.push_back(name);
    order_fields.push_back("-" + name);
  }
  out.push_back({"ordering",
                 "query",
                 {{"type", "array"}, {"items", {{"type", "string"}, {"enum", order_fields}}}},
                 false,
                 "Which field to use when ordering the results."});
  for (const FilterDef& f : spec.filters) {
    for (const std::string& l : f.lookups) {
      Parameter p;
      p.name = l.empty() ? f.name : absl::StrCat(f.name, "__", l);
      p.description = f.description.empty()
                          ? absl::StrCat("Filter results where ", f.name, " matches value")
                          : f.description;
      if (l == "in") {
        p.schema = array_schema;
      } else if (l == "isnull") {
        p.schema = {{"type", "boolean"}};
      } else if (l == "range") {
        p.schema = array_schema;
      } else if (f.kind == FilterDef::kNumber) {
        p.schema = {{"type", "integer"}};
      } else if (f.kind == FilterDef::kDateTime) {
        p.schema = {{"type", "string"}, {"format", "date-time"}};
      } else if (f.kind == FilterDef::kBool) {
        p.schema = {{"type", "boolean"}};
      } else if (f.kind == FilterDef::kChoice) {
        p.schema = {{"type", "string"}, {"enum", f.choices}};
      } else {
        p.schema = string_schema;
      }
      out.push_back(std::move(p));
    }
  }
  out.push_back({"pulp_href__in", "query", array_schema, false,
                 "Multiple values may be separated by commas."});
  out.push_back({"pulp_id__in",
                 "query",
                 {{"type", "array"}, {"items", {{"type", "string"}, {"format", "uuid"}}}},
                 false,
                 "Multiple values may be separated by commas."});
  out.push_back(
      {"prn__in", "query", array_schema, false, "Multiple values may be separated by commas."});
  if (!spec.labels_column.empty()) {
    out.push_back(
        {"pulp_label_select", "query", string_schema, false, "Filter labels by search string"});
  }
  for (auto& p : FieldSelectionParameters()) out.push_back(std::move(p));
  return out;
}

}  // namespace pulp::core::http
