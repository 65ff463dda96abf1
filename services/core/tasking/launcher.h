#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/tasking/claim.h"
#include "services/core/tasking/runner.h"

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::tasking {

// Runs each task in a child process forked from a small launcher process. The worker starts the
// launcher before it creates any thread; afterwards the worker may run gRPC threads, and no
// fork ever copies them (forking a threaded process can deadlock the child). The launcher is
// single-threaded, dies with the worker, and its children die with it, so a killed worker
// leaves no task process behind.
class TaskLauncher {
 public:
  // Forks the launcher. Call while the process has one thread. The launcher keeps `app` as it
  // is now (settings, task registry) and never touches the caller's database connections.
  static absl::StatusOr<std::unique_ptr<TaskLauncher>> Start(AppContext& app);
  ~TaskLauncher();

  // Readable when a task ended (then call Collect).
  int fd() const { return fd_; }
  // Starts `task` in a new child. False when the launcher is gone.
  bool Launch(const ClaimedTask& task);
  // Sends `signal` to the child running task `pk`, if any.
  void Kill(const std::string& pk, int signal);
  // Tasks that ended since the last call, with their outcomes ("Killed by signal 9." for a
  // killed child). Does not block. `*launcher_gone` is set when the launcher died.
  std::vector<std::pair<std::string, TaskOutcome>> Collect(bool* launcher_gone);

 private:
  TaskLauncher(pid_t pid, int fd) : pid_(pid), fd_(fd) {}
  bool Send(const std::string& line);

  pid_t pid_;
  int fd_;
  std::string in_;  // bytes read from the launcher, up to an incomplete line
};

}  // namespace pulp::core::tasking
