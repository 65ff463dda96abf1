#pragma once

#include <map>
#include <string>
#include <vector>

#include "services/core/util/json.h"

namespace pulp::core::openapi {

using Schemas = std::map<std::string, Json>;

Json Ref(const std::string& component);
// {"description": ..., "content": {"application/json": {"schema": ...}}}
Json JsonResponse(const std::string& description, const Json& schema);
Json EmptyResponse(const std::string& description);
// Registers Paginated<item>List and returns a 200 response referencing it.
Json PaginatedResponse(Schemas& schemas, const std::string& item_component);
// 202 {"task": href}
Json AsyncResponse(Schemas& schemas);
// A requestBody whose schema is `component` under each of `media_types`.
Json RequestBody(const std::string& component, const std::vector<std::string>& media_types,
                 bool required = true);

inline const std::vector<std::string> kJsonAndForms = {
    "application/json", "application/x-www-form-urlencoded", "multipart/form-data"};
inline const std::vector<std::string> kFormsOnly = {"multipart/form-data",
                                                    "application/x-www-form-urlencoded"};

// Properties every model response carries: pulp_href, prn, pulp_created, pulp_last_updated.
Json ModelResponseProperties();

}  // namespace pulp::core::openapi
