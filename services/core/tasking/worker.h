#pragma once

#include <string>

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::tasking {

// pulpcore-worker's main loop. Claims ready tasks one at a time, runs each in a forked child
// (a crash or a cancel kills the child, never the worker), heartbeats, fails the tasks of
// workers that stopped heartbeating, and sleeps on LISTEN until woken or the heartbeat is due.
// SIGTERM: finish the current task, take no new one, exit 0. SIGINT: give the current task
// TASK_GRACE_INTERVAL seconds, then fail it and exit.
// The process must be single-threaded when this runs: it forks.
// Metrics are served at http://<metrics_host>:<metrics_port>/metrics (port 0: any free port,
// logged at start).
struct WorkerOptions {
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;
};
int RunWorker(AppContext& app, const WorkerOptions& options);

}  // namespace pulp::core::tasking
