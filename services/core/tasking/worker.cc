#include "services/core/tasking/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/metrics/scrape_socket.h"
#include "services/core/status/heartbeat.h"
#include "services/core/tasking/claim.h"
#include "services/core/tasking/runner.h"
#include "services/core/tasking/worker_metrics.h"
#include "services/core/util/uuid.h"

namespace pulp::core::tasking {
namespace {

using Clock = std::chrono::steady_clock;

int PidfdOpen(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

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

// A task running in a child process.
struct Child {
  ClaimedTask task;
  pid_t pid = -1;
  int pidfd = -1;
  int out_fd = -1;  // the child's outcome (JSON), read as it arrives
  std::string out;
  bool cancel_requested = false;
  Clock::time_point started = Clock::now();
  std::string forced_failure;  // set when the worker ends the task itself (shutdown)
};

class Worker {
 public:
  Worker(AppContext& app, const WorkerOptions& options)
      : app_(app),
        options_(options),
        pk_(NewUuid()),
        name_(status::ProcessName()),
        heartbeat_every_(std::chrono::seconds(std::clamp(app.settings.worker_ttl / 3, 1, 5))) {}

  int Run() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal_fd_ = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    auto scrape = metrics::ScrapeSocket::Listen(options_.metrics_host, options_.metrics_port);
    if (!scrape.ok()) {
      Log(name_, std::string(scrape.status().message()));
      return 1;
    }
    scrape_ = std::move(*scrape);
    if (!Connect()) return 1;
    Log(name_, absl::StrCat("metrics on http://", options_.metrics_host, ":", scrape_->port(),
                            "/metrics"));
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
      if (!child_ && try_claim && !stopping_) {
        try_claim = false;
        if (ClaimAndStart()) continue;
      }
      if (child_ && grace_deadline_ && Clock::now() >= *grace_deadline_) {
        child_->forced_failure = "Worker was shut down before the task finished (SIGINT).";
        kill(child_->pid, SIGKILL);
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
            "INSERT INTO core_appstatus (pulp_id, app_type, name, versions, idle) VALUES (",
            tx.quote(pk_), ", 'worker', ", tx.quote(name_), ", ",
            tx.quote(DumpJson(app_.AppVersions())),
            "::jsonb, FALSE) ON CONFLICT (app_type, name) DO UPDATE SET pulp_id = EXCLUDED.pulp_id,"
            " last_heartbeat = clock_timestamp()"));
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

  void Start(const ClaimedTask& task) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
      Finish(task.pk, TaskOutcome::Failure("Could not start the task process."), false);
      return;
    }
    std::cout.flush();
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid == 0) {
      close(pipefd[0]);
      RunChild(task, pipefd[1], parent);  // never returns
    }
    close(pipefd[1]);
    if (pid < 0) {
      close(pipefd[0]);
      Finish(task.pk, TaskOutcome::Failure("Could not start the task process."), false);
      return;
    }
    fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
    child_.emplace();
    child_->task = task;
    child_->pid = pid;
    child_->pidfd = PidfdOpen(pid);
    child_->out_fd = pipefd[0];
  }

  [[noreturn]] void RunChild(const ClaimedTask& task, int out_fd, pid_t parent) {
    // The task dies with its worker, so a killed worker leaves no orphan touching the data.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_IGN);  // Ctrl-C in a terminal is the worker's to handle
    // The parent's connections must never be used (or closed) from here: leak them and open
    // our own lazily, only if the task touches the database.
    inbox_.release();     // NOLINT: intentionally leaked in the child
    conn_.release();      // NOLINT: likewise
    app_.pool.release();  // NOLINT: likewise
    app_.pool = std::make_unique<db::Pool>(app_.settings.database.ConnectionString(), 2);
    const TaskOutcome outcome = ExecuteTask(app_, task);
    const std::string out = DumpJson(outcome.ToJson());
    size_t off = 0;
    while (off < out.size()) {
      ssize_t w = write(out_fd, out.data() + off, out.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(3);
      off += static_cast<size_t>(w);
    }
    close(out_fd);
    app_.pool.reset();
    _exit(0);
  }

  // Waits up to `ms`; returns true when it is worth trying to claim (woken, child ended).
  bool WaitForEvents(long ms) {
    pollfd fds[5];
    int n = 0;
    fds[n++] = {signal_fd_, POLLIN, 0};
    fds[n++] = {scrape_->fd(), POLLIN, 0};
    const int db_index = conn_ ? n : -1;
    if (conn_) fds[n++] = {conn_->sock(), POLLIN, 0};
    const int child_index = child_ ? n : -1;
    if (child_) {
      fds[n++] = {child_->pidfd, POLLIN, 0};
      if (child_->out_fd >= 0) fds[n++] = {child_->out_fd, POLLIN, 0};
    }
    int ready = poll(fds, n, static_cast<int>(std::min<long>(ms, 60'000)));
    if (ready <= 0) return false;
    bool claim = false;
    if (fds[0].revents & POLLIN) HandleSignals();
    if (fds[1].revents & POLLIN) {
      scrape_->ServeOne([this] { return metrics_.Render(conn_.get()); });
    }
    if (db_index >= 0 && fds[db_index].revents) claim = HandleNotifications() || claim;
    if (child_index >= 0) {
      if (child_->out_fd >= 0 && fds[child_index + 1].revents) ReadChildOutput();
      if (fds[child_index].revents & POLLIN) {
        ReapChild();
        claim = true;
      }
    }
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
          kill(child_->pid, SIGKILL);
        }
      } else {
        wake = true;
      }
    }
    inbox_->payloads.clear();
    return wake;
  }

  void ReadChildOutput() {
    char buf[65536];
    while (true) {
      ssize_t r = read(child_->out_fd, buf, sizeof buf);
      if (r > 0) {
        child_->out.append(buf, static_cast<size_t>(r));
        continue;
      }
      if (r == 0) {
        close(child_->out_fd);
        child_->out_fd = -1;
      }
      return;
    }
  }

  void ReapChild() {
    if (child_->out_fd >= 0) ReadChildOutput();
    int status = 0;
    waitpid(child_->pid, &status, 0);
    if (child_->out_fd >= 0) close(child_->out_fd);
    close(child_->pidfd);
    TaskOutcome outcome;
    if (!child_->forced_failure.empty()) {
      outcome = TaskOutcome::Failure(child_->forced_failure);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      Json j = Json::parse(child_->out, nullptr, false);
      outcome = j.is_discarded() ? TaskOutcome::Failure("The task process sent no result.")
                                 : TaskOutcome::FromJson(j);
    } else if (WIFSIGNALED(status)) {
      outcome = TaskOutcome::Failure(absl::StrCat("Killed by signal ", WTERMSIG(status), "."));
    } else {
      outcome = TaskOutcome::Failure(
          absl::StrCat("Task process exited with code ", WEXITSTATUS(status), "."));
    }
    const ClaimedTask task = child_->task;
    const bool canceled = child_->cancel_requested;
    metrics_.TaskFinished(task.name,
                          canceled     ? "canceled"
                          : outcome.ok ? "completed"
                                       : "failed",
                          std::chrono::duration<double>(Clock::now() - child_->started).count());
    child_.reset();
    Finish(task.pk, outcome, canceled);
  }

  void Finish(const std::string& pk, const TaskOutcome& outcome, bool canceled) {
    // Keep trying while Postgres is away: a finished task must not stay `running` forever, and
    // its row is the only record of the outcome.
    for (int attempt = 0; attempt < 600; ++attempt) {
      if (WithDb([&](pqxx::connection& c) {
            RecordOutcome(c, pk, outcome, canceled);
            pqxx::work tx(c);
            tx.exec("UPDATE core_appstatus SET current_task_id = NULL WHERE pulp_id = " +
                    tx.quote(pk_));
            tx.commit();
          })) {
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
  std::optional<Child> child_;
  bool stopping_ = false;
  std::optional<Clock::time_point> grace_deadline_;
};

}  // namespace

int RunWorker(AppContext& app, const WorkerOptions& options) { return Worker(app, options).Run(); }

}  // namespace pulp::core::tasking
