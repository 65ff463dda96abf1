#pragma once

// The gRPC links of tasking, behind gRPC-free interfaces.

#include <functional>
#include <memory>
#include <string>

#include "services/core/tasking/worker.h"

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::rpc {

// Classic mode, worker side: follows the active resource manager (found in Postgres), registers
// with it (naming a task the worker still has), receives assignments, reports finished tasks.
// When the leader changes it drops the old stream and connects to the new one.
std::unique_ptr<tasking::AssignmentSource> ConnectToResourceManager(std::string connection_string,
                                                                    std::string worker_id,
                                                                    std::string worker_name,
                                                                    std::function<void()> wake);

// Classic mode, API side: tells the active resource manager a task was recorded. Best effort
// (about a second at most): the manager also scans Postgres on its own.
void NotifyResourceManager(AppContext& app, const std::string& task_id);

// Asks the worker at `address` to kill task `task_id` now; false if it did not (not running
// there, unreachable). The task's state in Postgres already says canceling.
bool CancelOnWorker(const std::string& address, const std::string& task_id);

}  // namespace pulp::core::rpc
