// TaskContext's progress reports: kept in memory, mirrored to core_task.progress_reports.
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::core::tasking {

size_t TaskContext::StartProgress(std::string message, std::string code,
                                  std::optional<int64_t> total) {
  progress_.push_back({{"message", std::move(message)},
                       {"code", std::move(code)},
                       {"state", "running"},
                       {"total", total ? Json(*total) : Json(nullptr)},
                       {"done", 0},
                       {"suffix", nullptr}});
  WriteProgress(true);
  return progress_.size() - 1;
}

void TaskContext::AdvanceProgress(size_t report, int64_t done, std::optional<int64_t> total) {
  Json& r = progress_.at(report);
  r["done"] = done;
  if (total) r["total"] = *total;
  WriteProgress(false);
}

void TaskContext::FinishProgress(size_t report, int64_t done, const char* state) {
  Json& r = progress_.at(report);
  r["done"] = done;
  r["state"] = state;
  WriteProgress(true);
}

void TaskContext::EndRunningProgress(const char* state) {
  bool changed = false;
  for (Json& r : progress_) {
    if (r["state"] == "running") {
      r["state"] = state;
      changed = true;
    }
  }
  if (changed) WriteProgress(true);
}

void TaskContext::WriteProgress(bool force) {
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_progress_write_ < std::chrono::milliseconds(300)) return;
  last_progress_write_ = now;
  if (!app_.pool) return;
  // Progress is advice: a failed write must not fail the task it describes.
  try {
    auto lease = app_.pool->Acquire(std::chrono::seconds(2));
    if (!lease.ok()) return;
    pqxx::nontransaction tx(**lease);
    tx.exec(absl::StrCat("UPDATE core_task SET progress_reports = ", tx.quote(DumpJson(progress_)),
                         "::jsonb WHERE pulp_id = ", tx.quote(task_id_), "::uuid"));
  } catch (const std::exception&) {
  }
}

}  // namespace pulp::core::tasking
