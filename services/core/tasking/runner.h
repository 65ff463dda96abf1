#pragma once

#include <string>
#include <vector>

#include "services/core/tasking/claim.h"
#include "services/core/util/json.h"

#include <pqxx/connection>

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::tasking {

// How a task body ended. Travels from a task's child process to its worker as JSON.
struct TaskOutcome {
  bool ok = false;
  Json result;  // null for none
  Json error;   // {"description", "traceback"} or {"reason"}
  std::vector<std::string> created_hrefs;
  std::vector<std::string> created_prns;

  Json ToJson() const;
  static TaskOutcome FromJson(const Json& j);
  static TaskOutcome Failure(const std::string& description);
  static TaskOutcome Reason(const std::string& reason);
};

// Runs the registered function of `task`; every exception becomes a failed outcome.
TaskOutcome ExecuteTask(AppContext& app, const ClaimedTask& task);

// Writes the final state of a running/canceling task. A task that was asked to cancel ends
// `canceled` even if its body finished. Returns false if the task was no longer running
// (someone else already ended it). With `worker_pk`, that worker's row stops naming the task,
// in the same transaction (one commit per task end).
bool RecordOutcome(pqxx::connection& conn, const std::string& task_pk, const TaskOutcome& outcome,
                   bool canceled = false, const std::string& worker_pk = "");

}  // namespace pulp::core::tasking
