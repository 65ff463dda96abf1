#pragma once

#include <optional>
#include <string>

#include "services/core/app_context.h"
#include "services/core/http/message.h"
#include "services/core/util/json.h"

namespace pqxx {
class row;
}

namespace pulp::core::endpoints {

// SQL select items for the four fields every model shows, from table alias `t`.
inline constexpr char kModelColumns[] =
    "t.pulp_id::text AS pulp_id, pulp_iso(t.pulp_created) AS pulp_created,"
    " pulp_iso(t.pulp_last_updated) AS pulp_last_updated";

// {"pulp_href", "prn", "pulp_created", "pulp_last_updated"} from a row with kModelColumns.
Json ModelFields(const pqxx::row& row, const std::string& href_prefix, const std::string& prn_type);

// A nullable text column as JSON.
Json TextOrNull(const pqxx::row& row, const char* column);

// 202 {"task": href}
http::Response TaskAccepted(const AppContext& app, const std::string& task_pk);

// 201 with the object and a Location header.
http::Response Created(const Json& object);

// The requester's user id for created_by.
std::optional<int64_t> RequesterId(const http::Request& request);

}  // namespace pulp::core::endpoints
