#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::tasking {

// Classic mode: an assignment from the resource manager.
struct Assignment {
  std::string task_pk;
  uint64_t term = 0;
  std::string name;  // with args, kwargs, logging_cid: the task as the manager claimed it
  std::string args_json, kwargs_json, logging_cid;
};

// Classic mode: a worker's link to the active resource manager. Thread-safe. It calls `wake`
// (from any thread) when assignments arrive, and follows the lead to a new manager by itself.
class AssignmentSource {
 public:
  virtual ~AssignmentSource() = default;
  // Assignments received since the last call.
  virtual std::vector<Assignment> Take() = 0;
  // The worker is done with an assignment (ran it, or refused it): it is free again.
  virtual void Finished(const std::string& task_pk, uint64_t term) = 0;
};

// What other threads may ask of a running worker.
class WorkerControl {
 public:
  virtual ~WorkerControl() = default;
  // Kills the task process if this worker runs `task_pk`; true when it did.
  virtual bool Cancel(const std::string& task_pk) = 0;
};

// pulpcore-worker's main loop. Runs one task at a time in a child of its task launcher (a crash
// or a cancel kills the child, never the worker), heartbeats, fails the tasks of workers that
// stopped heartbeating. Distributed mode: claims ready tasks itself and sleeps on LISTEN until
// woken or the heartbeat is due. Classic mode (`connect_manager` set): runs what the active
// resource manager assigns. SIGTERM: finish the current task, take no new one, exit 0. SIGINT:
// give the current task TASK_GRACE_INTERVAL seconds, then fail it and exit.
// Call while the process has a single thread: the launcher is forked first.
struct WorkerOptions {
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;  // 0: any free port, logged at start
  // Started after the launcher (threads are safe from then on): serves this worker's gRPC and
  // returns its address for the heartbeat row; `keep` holds the server.
  struct Rpc {
    std::string address;
    std::shared_ptr<void> keep;
  };
  std::function<Rpc(WorkerControl&)> start_rpc;
  std::function<std::unique_ptr<AssignmentSource>(
      const std::string& worker_id, const std::string& worker_name, std::function<void()> wake)>
      connect_manager;
};
int RunWorker(AppContext& app, const WorkerOptions& options);

}  // namespace pulp::core::tasking
