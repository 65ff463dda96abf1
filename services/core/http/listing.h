#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "services/core/http/message.h"
#include "services/core/http/router.h"
#include "services/core/util/json.h"

namespace pqxx {
class row;
class transaction_base;
}  // namespace pqxx

namespace pulp::core::db {
class Pool;
}

namespace pulp::core::http {

// One filterable field and the lookups it accepts (django-filter style: `name`, `name__in`,
// `name__gte`, ...).
struct FilterDef {
  enum Kind { kText, kNumber, kDateTime, kChoice, kBool, kCustom };
  std::string name;
  std::string column;  // SQL expression
  Kind kind = kText;
  std::vector<std::string> lookups = {""};  // "" = exact
  std::vector<std::string> choices;         // kChoice
  // kCustom: (value, tx) → SQL condition; throws ApiError for a bad value.
  std::function<std::string(const std::string&, pqxx::transaction_base&)> custom;
  std::string description;
};

// The lookups upstream offers for names (NAME_FILTER_OPTIONS) and timestamps.
std::vector<std::string> NameLookups();
std::vector<std::string> DateTimeLookups();
std::vector<std::string> NumberLookups();

// How one resource type is listed: its rows, filters, ordering and serializer.
struct ListSpec {
  std::string model_name;  // "Artifact": for 404 bodies
  std::string from;        // FROM clause, e.g. "core_artifact t"
  // FROM clause enough for filtering, counting and ordering (defaults to `from`): joins that
  // only add output columns stay out of the count and the page selection.
  std::string filter_from;
  // FROM clause that counts an unfiltered list exactly (one row per object); cheaper still.
  std::string count_from;
  std::string columns;  // SELECT list
  std::string where = "TRUE";
  std::string pk_column = "t.pulp_id";
  std::string created_column = "t.pulp_created";
  std::string href_prefix;    // list URL; detail hrefs are href_prefix + pk + "/"
  std::string prn_type;       // "core.artifact"
  std::string labels_column;  // enables pulp_label_select when set
  std::vector<FilterDef> filters;
  std::map<std::string, std::string> ordering;  // field → SQL expression
  std::function<core::Json(const pqxx::row&)> serialize;
  // Views without a filterset ignore unknown query parameters instead of a 400.
  bool ignore_unknown_params = false;
  // Fields of the `?minimal=true` rendering (tasks); empty = no minimal form.
  std::vector<std::string> minimal_fields;
};

// GET list: filters, ordering (newest first by default), limit/offset pagination with absolute
// next/previous, fields/exclude_fields. Unknown parameters → 400 {"errors": [...]}.
Response ListResource(const ListSpec& spec, Request& request, db::Pool& pool);

// GET detail by primary key; a malformed or unknown pk is a 404.
Response ReadResource(const ListSpec& spec, Request& request, db::Pool& pool,
                      const std::string& pk);

// Fetches one serialized object (no field selection); nullopt if absent.
std::optional<core::Json> FetchOne(const ListSpec& spec, pqxx::transaction_base& tx,
                                   const std::string& pk);

// The query parameters a list operation declares in the OpenAPI document.
std::vector<Parameter> ListParameters(const ListSpec& spec);
// fields/exclude_fields, declared on every GET.
std::vector<Parameter> FieldSelectionParameters();

// Applies ?fields= / ?exclude_fields= to one object.
core::Json SelectFields(const core::Json& object, const Request& request);

// The pk in `href` when it is `prefix<uuid>/` (absolute URLs are reduced to their path first),
// or in a PRN "prn:<type>:<uuid>". Empty when it is neither.
std::string PkFromHref(const std::string& href, const std::string& prefix);
std::string PkFromPrn(const std::string& prn, const std::string& prn_type);

// Parses an ISO-8601 date/time as Django's forms do; returns RFC 3339 UTC or empty.
std::string ParseDateTime(const std::string& value);

}  // namespace pulp::core::http
