#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "services/core/app_context.h"
#include "services/core/http/message.h"
#include "services/core/tasking/dispatcher.h"
#include "services/core/util/json.h"

namespace pqxx {
class row;
}

#include "services/core/http/router.h"

namespace pulp::core::http {
struct ListSpec;
}  // namespace pulp::core::http
namespace pulp::core::tasking {
class TaskContext;
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

// The task a request dispatches, with the request's correlation id and requester.
tasking::DispatchRequest TaskFrom(const http::Request& request, std::string name);

// Upstream's generic update (immediate when it can run at once) and delete of one object,
// holding its PRN exclusively. Callers may add resources before dispatching.
tasking::DispatchRequest GeneralUpdateTask(const http::Request& request, const std::string& pk,
                                           const std::string& app_label,
                                           const std::string& serializer, const std::string& prn,
                                           const Json& data, bool partial);
tasking::DispatchRequest GeneralDeleteTask(const http::Request& request, const std::string& pk,
                                           const std::string& app_label,
                                           const std::string& serializer, const std::string& prn);

// ageneral_delete's body for a resource kept in one table (rows of dependants cascade).
std::function<Json(tasking::TaskContext&, const Json& args, const Json& kwargs)> DeleteRowTask(
    std::string table);

// How a resource type appears in the schema: "<id_prefix>_list", "<id_prefix>_read", its tag,
// its detail href parameter and response component.
struct ResourceDoc {
  std::string id_prefix;        // "artifacts", "content_file_files"
  std::string component;        // app label owning it
  std::string tag;              // "Artifacts"
  std::string noun;             // "artifact": for summaries
  std::string href_param;       // "artifact_href"
  std::string response_schema;  // "ArtifactResponse"
};

// An operation of `doc`'s resource: id "<id_prefix>_<action>", its component and tag.
http::Operation NewOperation(const ResourceDoc& doc, const std::string& action,
                             const std::string& summary);

// GET <list> with filters, ordering and pagination from `spec`.
void AddListRoute(AppContext& app, http::Router& router, std::shared_ptr<const http::ListSpec> spec,
                  const ResourceDoc& doc);
// GET <list><pk>/ rendering one row of `spec`.
void AddReadRoute(AppContext& app, http::Router& router, std::shared_ptr<const http::ListSpec> spec,
                  const ResourceDoc& doc);

}  // namespace pulp::core::endpoints
