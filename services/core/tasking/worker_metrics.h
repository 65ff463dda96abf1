#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>

namespace pulp::core::tasking {

// The worker's Prometheus metrics. Queue figures are read from Postgres at scrape time, so
// every worker reports the same cluster-wide queue; outcome counters and durations are this
// worker's own.
class WorkerMetrics {
 public:
  WorkerMetrics();
  ~WorkerMetrics();
  void TaskFinished(const std::string& name, const std::string& state, double seconds);
  // Classic mode: an assignment refused (stale_term, busy, stopping, not_assigned).
  void AssignmentRefused(const std::string& reason);
  // Text exposition; `conn` may be null when the database is away (queue metrics omitted).
  std::string Render(pqxx::connection* conn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulp::core::tasking
