#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/core/util/json.h"

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::tasking {

// What a running task can tell the world.
class TaskContext {
 public:
  TaskContext(AppContext& app, std::string task_id) : app_(app), task_id_(std::move(task_id)) {}
  AppContext& app() { return app_; }
  const std::string& task_id() const { return task_id_; }

  void AddCreatedResource(std::string href, std::string prn) {
    created_hrefs_.push_back(std::move(href));
    created_prns_.push_back(std::move(prn));
  }
  const std::vector<std::string>& created_hrefs() const { return created_hrefs_; }
  const std::vector<std::string>& created_prns() const { return created_prns_; }

  // The task changed what a distribution serves; the content apps are told once it succeeded
  // (creating a publication counts without this).
  void MarkServedContentChanged() { served_content_changed_ = true; }
  bool served_content_changed() const { return served_content_changed_; }

  // Upstream's progress reports (task.progress_reports): a task opens one per stage and counts
  // what it did. They are written to the task row as they change (at most every 0.3 s, and at
  // once when a report starts or ends), so a client polling the task sees them move.
  size_t StartProgress(std::string message, std::string code,
                       std::optional<int64_t> total = std::nullopt);
  void AdvanceProgress(size_t report, int64_t done, std::optional<int64_t> total = std::nullopt);
  void FinishProgress(size_t report, int64_t done, const char* state = "completed");
  // Ends every report still running as `state` ("failed" when the task body threw).
  void EndRunningProgress(const char* state);
  const Json& progress_reports() const { return progress_; }

 private:
  void WriteProgress(bool force);

  AppContext& app_;
  std::string task_id_;
  Json progress_ = Json::array();
  std::chrono::steady_clock::time_point last_progress_write_{};
  std::vector<std::string> created_hrefs_;
  std::vector<std::string> created_prns_;
  bool served_content_changed_ = false;
};

// A task body: returns the task's `result` (null for none); throws to fail the task with the
// exception's message as error.description.
using TaskFunction = std::function<Json(TaskContext&, const Json& args, const Json& kwargs)>;

// Task names (upstream's dotted Python names) → functions; plugins fill it.
class TaskRegistry {
 public:
  void Register(std::string name, TaskFunction fn) { functions_[std::move(name)] = std::move(fn); }
  const TaskFunction* Find(const std::string& name) const {
    auto it = functions_.find(name);
    return it == functions_.end() ? nullptr : &it->second;
  }

  // Upstream's generic tasks (general_create, ageneral_update, ...) name a serializer by
  // (app_label, serializer_name); plugins register what each of theirs does.
  void RegisterSerializerTask(const std::string& generic_task, const std::string& app_label,
                              const std::string& serializer, TaskFunction fn) {
    serializer_tasks_[generic_task + "/" + app_label + "." + serializer] = std::move(fn);
  }
  const TaskFunction* FindSerializerTask(const std::string& generic_task,
                                         const std::string& app_label,
                                         const std::string& serializer) const {
    auto it = serializer_tasks_.find(generic_task + "/" + app_label + "." + serializer);
    return it == serializer_tasks_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, TaskFunction> functions_;
  std::map<std::string, TaskFunction> serializer_tasks_;
};

// Task names core dispatches for plugins.
inline constexpr char kGeneralCreate[] = "pulpcore.app.tasks.base.general_create";
inline constexpr char kGeneralUpdate[] = "pulpcore.app.tasks.base.ageneral_update";
inline constexpr char kGeneralDelete[] = "pulpcore.app.tasks.base.ageneral_delete";

struct DispatchRequest {
  std::string name;
  Json args = Json::array();
  Json kwargs = Json::object();
  std::vector<std::string> exclusive_resources;  // PRNs or pdrn:... names
  std::vector<std::string> shared_resources;
  // Upstream's immediate tasks run inside the dispatching process when their resources are
  // free at once; otherwise a worker runs them.
  bool immediate = false;
  std::string logging_cid;
  std::optional<int64_t> created_by;
  std::string task_group;  // pk or empty
};

// Records tasks and hands them to workers (or runs immediate ones in place).
class Dispatcher {
 public:
  explicit Dispatcher(AppContext& app) : app_(app) {}
  // Returns the task's pk. Validation of a resource name (size, characters) is an ApiError.
  std::string Dispatch(const DispatchRequest& request);

 private:
  AppContext& app_;
};

std::string TaskHref(const AppContext& app, const std::string& pk);

}  // namespace pulp::core::tasking
