#include "services/core/tasking/worker_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <pqxx/pqxx>

#include "services/core/tasking/claim.h"

namespace pulp::core::tasking {

struct WorkerMetrics::Impl {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Counter>& outcomes =
      prometheus::BuildCounter()
          .Name("tasks_total")
          .Help("Tasks this worker finished, by task name and final state")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& durations =
      prometheus::BuildHistogram()
          .Name("task_duration_seconds")
          .Help("Run time of tasks on this worker, by task name")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& refused =
      prometheus::BuildCounter()
          .Name("task_assignments_refused_total")
          .Help("Classic mode: assignments this worker refused, by reason")
          .Register(registry);
  prometheus::Gauge& waiting = prometheus::BuildGauge()
                                   .Name("waiting_tasks")
                                   .Help("Tasks waiting to run (whole cluster)")
                                   .Register(registry)
                                   .Add({});
  prometheus::Gauge& running = prometheus::BuildGauge()
                                   .Name("running_tasks")
                                   .Help("Tasks running or canceling (whole cluster)")
                                   .Register(registry)
                                   .Add({});
  prometheus::Gauge& unblocked = prometheus::BuildGauge()
                                     .Name("tasks_unblocked_queue")
                                     .Help("Waiting tasks whose resources are free")
                                     .Register(registry)
                                     .Add({});
  prometheus::Gauge& longest = prometheus::BuildGauge()
                                   .Name("tasks_longest_unblocked_time")
                                   .Help("Seconds the oldest unblocked waiting task has waited")
                                   .Register(registry)
                                   .Add({});
};

WorkerMetrics::WorkerMetrics() : impl_(new Impl) {}
WorkerMetrics::~WorkerMetrics() = default;

void WorkerMetrics::TaskFinished(const std::string& name, const std::string& state,
                                 double seconds) {
  impl_->outcomes.Add({{"name", name}, {"state", state}}).Increment();
  impl_->durations
      .Add({{"name", name}}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.5, 1, 5, 10,
                                                                     30, 60, 300, 1800, 3600})
      .Observe(seconds);
}

void WorkerMetrics::AssignmentRefused(const std::string& reason) {
  impl_->refused.Add({{"reason", reason}}).Increment();
}

std::string WorkerMetrics::Render(pqxx::connection* conn) {
  if (conn != nullptr) {
    try {
      pqxx::nontransaction tx(*conn);
      const std::string ready = ReadyCondition();
      pqxx::row r = tx.exec1(
          "SELECT count(*) FILTER (WHERE t.state = 'waiting'),"
          " count(*) FILTER (WHERE t.state IN ('running', 'canceling')),"
          " count(*) FILTER (WHERE " +
          ready +
          "),"
          " COALESCE(extract(epoch FROM now() - min(t.pulp_created) FILTER (WHERE " +
          ready +
          ")), 0)::float8 FROM core_task t WHERE t.state IN ('waiting', 'running', 'canceling')");
      impl_->waiting.Set(r[0].as<double>());
      impl_->running.Set(r[1].as<double>());
      impl_->unblocked.Set(r[2].as<double>());
      impl_->longest.Set(r[3].as<double>());
    } catch (const std::exception&) {
      // Stale queue figures beat a failed scrape.
    }
  }
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace pulp::core::tasking
