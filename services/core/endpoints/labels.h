#pragma once

#include <string>

#include "services/core/endpoints/common.h"

namespace pulp::core::endpoints {

// POST <href>set_label/ and <href>unset_label/ for a resource type whose `pulp_labels` (jsonb)
// live in `table`, keyed by pulp_id. `doc` names the operations (<id_prefix>_set_label ...).
void AddLabelRoutes(AppContext& app, http::Router& router, const std::string& href_prefix,
                    const std::string& table, const std::string& model_name,
                    const ResourceDoc& doc);

}  // namespace pulp::core::endpoints
