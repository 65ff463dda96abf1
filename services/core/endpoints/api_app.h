#pragma once

#include "services/core/http/router.h"
#include "services/core/http/server.h"

namespace pulp::core {
struct AppContext;

// The REST API's request pipeline around the route table: Correlation-ID, authentication,
// permission, dispatch, and the mapping of errors to upstream's JSON bodies. Static assets
// under STATIC_URL are served from STATIC_ROOT.
http::Handler MakeApiHandler(AppContext& app, const http::Router& router);

}  // namespace pulp::core
