#include "services/core/tasking/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <optional>
#include <pqxx/pqxx>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/metrics/scrape_socket.h"
#include "services/core/status/heartbeat.h"
#include "services/core/tasking/claim.h"
#include "services/core/tasking/classic.h"
#include "services/core/tasking/launcher.h"
#include "services/core/tasking/runner.h"
#include "services/core/tasking/worker_metrics.h"
#include "services/core/util/uuid.h"

namespace pulp::core::tasking {
namespace {

using Clock = std::chrono::steady_clock;

void Log(const std::string& name, const std::string& msg) {
  std::cout << "pulpcore-worker " << name << ": " << msg << std::endl;
}

// Collects this worker's notifications between polls.
class Inbox : public pqxx::notification_receiver {
 public:
  Inbox(pqxx::connection_base& c, const std::string& channel) : notification_receiver(c, channel) {}
  void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  std::vector<std::string> payloads;
};

// The task running in a child of the launcher.
struct Child {
  ClaimedTask task;
  uint64_t term = 0;  // classic mode: the assignment's term
  bool cancel_requested = false;
  Clock::time_point started = Clock::now();
  std::string forced_failure;  // set when the worker ends the task itself (shutdown)
};

class Worker : public WorkerControl {
 public:
  Worker(AppContext& app, const WorkerOptions& options)
      : app_(app),
        options_(options),
        pk_(NewUuid()),
        name_(status::ProcessName()),
        heartbeat_every_(std::chrono::seconds(std::clamp(app.settings.worker_ttl / 3, 1, 5))) {}

  int Run() {
    // Stop signals are read from a signalfd; blocked before any thread starts, so none of
    // them (gRPC's) can take a signal meant for this loop.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    // Then, while this process has one thread: everything forked later comes from here.
    auto launcher = TaskLauncher::Start(app_);
    if (!launcher.ok()) {
      Log(name_, std::string(launcher.status().message()));
      return 1;
    }
    launcher_ = std::move(*launcher);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (options_.start_rpc) rpc_ = options_.start_rpc(*this);
    auto scrape = metrics::ScrapeSocket::Listen(options_.metrics_host, options_.metrics_port);
    if (!scrape.ok()) {
      Log(name_, std::string(scrape.status().message()));
      return 1;
    }
    scrape_ = std::move(*scrape);
    if (!Connect()) return 1;
    if (options_.connect_manager) {
      // Classic mode: the resource manager assigns; this worker never claims by itself.
      manager_ = options_.connect_manager(pk_, name_, [this] { Wake(); });
    }
    Log(name_, absl::StrCat("metrics on http://", options_.metrics_host, ":", scrape_->port(),
                            "/metrics"));
    if (!rpc_.address.empty()) Log(name_, "gRPC on " + rpc_.address);
    Log(name_, "started");
    auto next_beat = Clock::now();
    bool try_claim = true;
    while (true) {
      if (Clock::now() >= next_beat) {
        Beat();
        next_beat = Clock::now() + heartbeat_every_;
        try_claim = true;  // a lost notification only delays work by one beat
      }
      if (!child_ && stopping_) break;
      if (manager_) {
        StartAssigned();
      } else if (!child_ && try_claim && !stopping_) {
        try_claim = false;
        if (ClaimAndStart()) continue;
      }
      if (child_ && grace_deadline_ && Clock::now() >= *grace_deadline_) {
        child_->forced_failure = "Worker was shut down before the task finished (SIGINT).";
        launcher_->Kill(child_->task.pk, SIGKILL);
        grace_deadline_.reset();
      }
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_beat - Clock::now());
      if (grace_deadline_) {
        wait = std::min(wait, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  *grace_deadline_ - Clock::now()));
      }
      if (WaitForEvents(std::max<long>(0, wait.count()))) try_claim = true;
    }
    Unregister();
    // Threads that call into this object end before it does.
    manager_.reset();
    rpc_.keep.reset();
    Log(name_, "stopped");
    return 0;
  }

 private:
  bool Connect() {
    for (int attempt = 0;; ++attempt) {
      try {
        conn_ = std::make_unique<pqxx::connection>(app_.settings.database.ConnectionString());
        pqxx::work tx(*conn_);
        tx.exec(absl::StrCat(
            "INSERT INTO core_appstatus (pulp_id, app_type, name, versions, idle, grpc_address)"
            " VALUES (",
            tx.quote(pk_), ", 'worker', ", tx.quote(name_), ", ",
            tx.quote(DumpJson(app_.AppVersions())), "::jsonb, FALSE, ",
            rpc_.address.empty() ? "NULL" : tx.quote(rpc_.address),
            ") ON CONFLICT (app_type, name) DO UPDATE SET pulp_id = EXCLUDED.pulp_id,"
            " last_heartbeat = clock_timestamp(), grpc_address = EXCLUDED.grpc_address"));
        tx.commit();
        inbox_ = std::make_unique<Inbox>(*conn_, WorkerChannel(pk_));
        return true;
      } catch (const std::exception& e) {
        inbox_.reset();
        conn_.reset();
        if (stopping_) return false;
        if (attempt % 10 == 0) Log(name_, absl::StrCat("database unavailable: ", e.what()));
        // Keep draining signals while the database is away.
        if (WaitForEvents(500)) continue;
      }
    }
  }

  // Runs `fn` against the database, reconnecting once if Postgres restarted under us.
  template <class Fn>
  bool WithDb(Fn fn) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!conn_ && !Connect()) return false;
      try {
        fn(*conn_);
        return true;
      } catch (const pqxx::broken_connection& e) {
        Log(name_, absl::StrCat("lost the database: ", e.what()));
        inbox_.reset();
        conn_.reset();
      } catch (const std::exception& e) {
        Log(name_, absl::StrCat("database error: ", e.what()));
        return false;
      }
    }
    return false;
  }

  void Beat() {
    WithDb([&](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("UPDATE core_appstatus SET last_heartbeat = clock_timestamp() WHERE pulp_id = " +
              tx.quote(pk_));
      // Tasks of workers that stopped heartbeating end here, and their resources are freed.
      pqxx::result lost = tx.exec(absl::StrCat(
          "UPDATE core_task SET state = 'failed', finished_at = clock_timestamp(),"
          " pulp_last_updated = clock_timestamp(), error = '{\"reason\": \"Worker has gone "
          "missing.\"}'"
          " WHERE state IN ('running', 'canceling') AND worker_id IS NOT NULL AND worker_id NOT IN"
          " (SELECT pulp_id FROM core_appstatus WHERE app_type = 'worker'"
          "  AND last_heartbeat >= now() - interval '1 second' * ",
          app_.settings.worker_ttl, ") RETURNING pulp_id::text"));
      if (!lost.empty()) {
        Log(name_, absl::StrCat("failed ", lost.size(), " task(s) of missing workers"));
        WakeOneIdleWorker(tx, app_.settings.worker_ttl);
      }
      tx.commit();
    });
  }

  bool ClaimAndStart() {
    std::optional<ClaimedTask> task;
    if (!WithDb(
            [&](pqxx::connection& c) { task = ClaimTask(c, pk_, "", app_.settings.worker_ttl); })) {
      return false;
    }
    if (!task) return false;
    Start(*task);
    return true;
  }

  void Start(const ClaimedTask& task, uint64_t term = 0) {
    if (!launcher_->Launch(task)) {
      Finish(task.pk, TaskOutcome::Failure("Could not start the task process."), false);
      if (manager_) manager_->Finished(task.pk, term);
      return;
    }
    child_.emplace();
    child_->task = task;
    child_->term = term;
    absl::MutexLock lock(&mu_);
    running_pk_ = task.pk;
  }

  // Classic mode: starts what the manager assigned, after checking it against Postgres. What
  // cannot run here is refused with a log line and a metric, and handed back.
  void StartAssigned() {
    for (const Assignment& a : manager_->Take()) {
      if (a.term < max_term_) {
        // From a manager that has since been superseded: not ours to act on, nor to answer.
        Log(name_,
            absl::StrCat("refused task ", a.task_pk, ": stale term ", a.term, " < ", max_term_));
        metrics_.AssignmentRefused("stale_term");
        continue;
      }
      max_term_ = a.term;
      if (child_ || stopping_) {
        Log(name_, absl::StrCat("refused task ", a.task_pk, ": ",
                                child_ ? "already running one" : "shutting down"));
        metrics_.AssignmentRefused(child_ ? "busy" : "stopping");
        Requeue(a);
        continue;
      }
      std::optional<ClaimedTask> task;
      if (!a.name.empty()) {
        // The manager claimed it in Postgres under this term; its body came along.
        Json args = Json::parse(a.args_json, nullptr, false);
        Json kwargs = Json::parse(a.kwargs_json, nullptr, false);
        if (!args.is_discarded() && !kwargs.is_discarded()) {
          task = ClaimedTask{a.task_pk, a.name, args, kwargs, a.logging_cid};
        }
      }
      if (!task)
        WithDb([&](pqxx::connection& c) {
          pqxx::nontransaction tx(c);
          pqxx::result r = tx.exec(absl::StrCat(
              "SELECT pulp_id::text, name, args::text, kwargs::text, logging_cid FROM core_task"
              " WHERE pulp_id = ",
              tx.quote(a.task_pk), "::uuid AND worker_id = ", tx.quote(pk_),
              "::uuid AND assigned_term = ", a.term, " AND state IN ('running', 'canceling')"));
          if (r.empty()) return;
          task = ClaimedTask{r[0][0].as<std::string>(), r[0][1].as<std::string>(),
                             Json::parse(r[0][2].as<std::string>()),
                             Json::parse(r[0][3].as<std::string>()), r[0][4].as<std::string>()};
        });
      if (!task) {
        Log(name_, "refused task " + a.task_pk + ": not assigned to this worker in Postgres");
        metrics_.AssignmentRefused("not_assigned");
        manager_->Finished(a.task_pk, a.term);
        continue;
      }
      Start(*task, a.term);
    }
  }

  // Puts a task this worker was given but cannot run back in line, then tells the manager.
  void Requeue(const Assignment& a) {
    WithDb([&](pqxx::connection& c) { HandBackTask(c, pk_, a.task_pk, a.term); });
    manager_->Finished(a.task_pk, a.term);
  }

  // WorkerControl, from other threads.
  bool Cancel(const std::string& task_pk) override {
    {
      absl::MutexLock lock(&mu_);
      if (running_pk_ != task_pk) return false;
      cancels_.push_back(task_pk);
    }
    Wake();
    return true;
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
  }

  // Cancels asked for over gRPC since the last look.
  void HandleWake() {
    uint64_t count;
    [[maybe_unused]] ssize_t n = read(wake_fd_, &count, sizeof count);
    std::vector<std::string> cancels;
    {
      absl::MutexLock lock(&mu_);
      cancels.swap(cancels_);
    }
    for (const std::string& pk : cancels) {
      if (child_ && child_->task.pk == pk && !child_->cancel_requested) {
        child_->cancel_requested = true;
        launcher_->Kill(pk, SIGKILL);
      }
    }
  }

  // Waits up to `ms`; returns true when it is worth trying to claim (woken, child ended).
  bool WaitForEvents(long ms) {
    pollfd fds[5];
    int n = 0;
    fds[n++] = {signal_fd_, POLLIN, 0};
    fds[n++] = {scrape_->fd(), POLLIN, 0};
    fds[n++] = {launcher_->fd(), POLLIN, 0};
    fds[n++] = {wake_fd_, POLLIN, 0};
    const int db_index = conn_ ? n : -1;
    if (conn_) fds[n++] = {conn_->sock(), POLLIN, 0};
    int ready = poll(fds, n, static_cast<int>(std::min<long>(ms, 60'000)));
    if (ready <= 0) return false;
    bool claim = false;
    if (fds[0].revents & POLLIN) HandleSignals();
    if (fds[1].revents & POLLIN) {
      scrape_->ServeOne([this] { return metrics_.Render(conn_.get()); });
    }
    if (db_index >= 0 && fds[db_index].revents) claim = HandleNotifications() || claim;
    if (fds[2].revents) claim = CollectEnded() || claim;
    if (fds[3].revents) HandleWake();
    return claim;
  }

  void HandleSignals() {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGTERM && !stopping_) {
        Log(name_, "SIGTERM: finishing the current task, taking no new one");
        stopping_ = true;
      } else if (info.ssi_signo == SIGINT && !grace_deadline_) {
        Log(name_, absl::StrCat("SIGINT: the current task gets ", app_.settings.task_grace_interval,
                                " s to finish"));
        stopping_ = true;
        grace_deadline_ = Clock::now() + std::chrono::seconds(app_.settings.task_grace_interval);
      }
    }
  }

  // Notifications: "" = work may be ready; "cancel:<pk>" = cancel that task if it is ours.
  bool HandleNotifications() {
    bool wake = false;
    try {
      conn_->get_notifs();
    } catch (const std::exception&) {
      inbox_.reset();
      conn_.reset();
      return true;
    }
    for (const std::string& payload : inbox_->payloads) {
      if (absl::StartsWith(payload, "cancel:")) {
        const std::string pk = payload.substr(7);
        if (child_ && child_->task.pk == pk && !child_->cancel_requested) {
          child_->cancel_requested = true;
          launcher_->Kill(pk, SIGKILL);
        }
      } else {
        wake = true;
      }
    }
    inbox_->payloads.clear();
    return wake;
  }

  // Records tasks the launcher reports ended; true when one did (the worker is free again).
  bool CollectEnded() {
    bool gone = false;
    bool ended = false;
    for (auto& [pk, reported] : launcher_->Collect(&gone)) {
      if (!child_ || child_->task.pk != pk) continue;
      TaskOutcome outcome = child_->forced_failure.empty()
                                ? std::move(reported)
                                : TaskOutcome::Failure(child_->forced_failure);
      const ClaimedTask task = child_->task;
      const uint64_t term = child_->term;
      const bool canceled = child_->cancel_requested;
      metrics_.TaskFinished(task.name,
                            canceled     ? "canceled"
                            : outcome.ok ? "completed"
                                         : "failed",
                            std::chrono::duration<double>(Clock::now() - child_->started).count());
      child_.reset();
      {
        absl::MutexLock lock(&mu_);
        running_pk_.clear();
      }
      Finish(task.pk, outcome, canceled);
      if (manager_) manager_->Finished(task.pk, term);
      ended = true;
    }
    if (gone) {
      // Without its launcher the worker cannot run tasks; a supervisor restarts it, and the
      // task in flight ends as a missing worker's would.
      Log(name_, "the task launcher died; exiting");
      std::_Exit(1);
    }
    return ended;
  }

  void Finish(const std::string& pk, const TaskOutcome& outcome, bool canceled) {
    // Keep trying while Postgres is away: a finished task must not stay `running` forever, and
    // its row is the only record of the outcome.
    for (int attempt = 0; attempt < 600; ++attempt) {
      if (WithDb([&](pqxx::connection& c) { RecordOutcome(c, pk, outcome, canceled, pk_); })) {
        return;
      }
      WaitForEvents(500);
    }
    Log(name_, "could not record the end of task " + pk);
  }

  void Unregister() {
    inbox_.reset();
    WithDb([&](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec("DELETE FROM core_appstatus WHERE pulp_id = " + tx.quote(pk_));
      tx.commit();
    });
  }

  AppContext& app_;
  const WorkerOptions options_;
  const std::string pk_;
  const std::string name_;
  const std::chrono::seconds heartbeat_every_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<metrics::ScrapeSocket> scrape_;
  WorkerMetrics metrics_;
  int signal_fd_ = -1;
  std::unique_ptr<TaskLauncher> launcher_;
  WorkerOptions::Rpc rpc_;
  std::unique_ptr<AssignmentSource> manager_;  // classic mode
  uint64_t max_term_ = 0;                      // highest manager term seen
  int wake_fd_ = -1;                           // written by other threads (gRPC, the link)
  absl::Mutex mu_;
  std::string running_pk_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> cancels_ ABSL_GUARDED_BY(mu_);
  std::optional<Child> child_;
  bool stopping_ = false;
  std::optional<Clock::time_point> grace_deadline_;
};

}  // namespace

int RunWorker(AppContext& app, const WorkerOptions& options) { return Worker(app, options).Run(); }

}  // namespace pulp::core::tasking
