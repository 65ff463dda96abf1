#pragma once

#include <functional>
#include <string>

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::rpc {

// Tells every online content app (found by its heartbeat row's grpc_address) to drop cached
// distribution resolutions. Waits at most about a second in all; an app that does not answer
// catches up when its cache expires, so a lost call only delays a change.
void InvalidateContentCaches(AppContext& app, const std::string& reason);

}  // namespace pulp::core::rpc
