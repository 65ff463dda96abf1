#include "services/core/rpc/resource_manager.h"

#include <csignal>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include <poll.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "pulp/v1/tasking.grpc.pb.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/metrics/scrape_socket.h"
#include "services/core/rpc/server_internal.h"
#include "services/core/status/heartbeat.h"
#include "services/core/tasking/classic.h"
#include "services/core/util/uuid.h"

namespace pulp::core::rpc {
namespace {

using Stream = grpc::ServerReaderWriter<pulp::v1::ManagerMessage, pulp::v1::WorkerMessage>;

void Log(const std::string& msg) { std::cout << "pulp-resource-manager: " << msg << std::endl; }

constexpr char kServiceName[] = "pulp.v1.ResourceManager";

class Manager final : public pulp::v1::ResourceManager::Service {
 public:
  Manager(AppContext& app, const ResourceManagerOptions& options)
      : app_(app),
        options_(options),
        // Every connection of this process is named, so a standby taking over from it when it
        // stalls can end them all (see Election::TryLead).
        connection_string_(
            absl::StrCat(app.settings.database.ConnectionString(), " application_name='",
                         tasking::ManagerApplicationName(status::ProcessName()), "'")) {
    app_.pool = std::make_unique<db::Pool>(connection_string_, 4);
  }

  int Run() {
    auto scrape = metrics::ScrapeSocket::Listen(options_.metrics_host, options_.metrics_port);
    if (!scrape.ok()) {
      Log(std::string(scrape.status().message()));
      return 1;
    }
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    ServerOptions server_options{options_.grpc_bind, options_.advertise_host};
    auto server = StartWith(server_options, {}, {this});
    if (!server.ok()) {
      Log(std::string(server.status().message()));
      return 1;
    }
    server_ = server->get();
    server_->SetServing(kServiceName, false);
    status::Heartbeat heartbeat(*app_.pool, "resource_manager", status::ProcessName(),
                                app_.AppVersions(), app_.settings.worker_ttl, server_->address());
    tasking::Election election(connection_string_, status::ProcessName(), server_->address(),
                               options_.lease_seconds);
    Log("gRPC on " + server_->address());
    Log(absl::StrCat("metrics on http://", options_.metrics_host, ":", (*scrape)->port(),
                     "/metrics"));
    std::thread metrics_thread([&] {
      while (!stopping_.HasBeenNotified()) {
        pollfd p{(*scrape)->fd(), POLLIN, 0};
        if (poll(&p, 1, 200) > 0) (*scrape)->ServeOne([this] { return RenderMetrics(); });
      }
    });

    std::thread waiter([&] {
      int sig = 0;
      sigwait(&stop_signals, &sig);
      stopping_.Notify();
      Wake();
    });
    waiter.detach();

    // Standby until leading. (Metrics and health answer meanwhile: passive is healthy.)
    bool announced = false;
    while (!stopping_.HasBeenNotified()) {
      if (auto term = election.TryLead()) {
        Log(absl::StrCat("active (term ", *term, ")"));
        break;
      }
      if (options_.exit_if_passive) {
        Log("passive: another resource manager is active; exiting as asked");
        std::cout.flush();
        std::_Exit(tasking::kExitPassive);
      }
      if (!announced) Log("passive: standing by");
      announced = true;
      stopping_.WaitForNotificationWithTimeout(absl::Milliseconds(200));
    }
    if (stopping_.HasBeenNotified()) {
      metrics_thread.join();
      (*server)->Stop();
      return 0;
    }
    {
      absl::MutexLock lock(&mu_);
      term_ = election.term();
    }
    server_->SetServing(kServiceName, true);
    std::thread scheduler([this] { Schedule(); });
    while (!stopping_.WaitForNotificationWithTimeout(absl::Seconds(1))) {
      if (!election.Renew()) {
        // Superseded (we stalled and a standby took over) or cut off: route nothing more.
        Log("no longer the active resource manager; exiting");
        std::cout.flush();
        std::_Exit(1);
      }
    }
    Wake();
    scheduler.join();
    metrics_thread.join();
    server_->SetServing(kServiceName, false);
    (*server)->Stop();
    heartbeat.Stop();
    return 0;
  }

  grpc::Status TaskDispatched(grpc::ServerContext*, const pulp::v1::TaskDispatchedRequest*,
                              pulp::v1::TaskDispatchedResponse*) override {
    if (!Active()) return Passive();
    Wake();
    return grpc::Status::OK;
  }

  grpc::Status WorkerLink(grpc::ServerContext*, Stream* stream) override {
    if (!Active()) return Passive();
    pulp::v1::WorkerMessage msg;
    if (!stream->Read(&msg) || !msg.has_register_() || !IsUuid(msg.register_().worker_id())) {
      Refused("bad_registration");
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a worker link starts with a registration naming the worker");
    }
    const std::string worker = msg.register_().worker_id();
    const std::string name = msg.register_().worker_name();  // `msg` is reused below
    std::vector<std::string> held;
    for (const std::string& t : msg.register_().held_task_ids()) {
      if (IsUuid(t)) held.push_back(t);
    }
    try {
      auto lease = app_.pool->Acquire();
      if (!lease.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable");
      if (int n = tasking::RequeueUnstarted(**lease, worker, held); n > 0) {
        Log(absl::StrCat("worker ", name, " never got ", n,
                         " task(s) assigned to it: back in line"));
      }
    } catch (const std::exception& e) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what());
    }
    {
      absl::MutexLock lock(&mu_);
      workers_[worker] = Link{stream, std::set<std::string>(held.begin(), held.end()), name};
    }
    Log("worker " + name + " linked");
    Wake();
    while (stream->Read(&msg)) {
      if (!msg.has_finished()) {
        Refused("unexpected_message");
        continue;
      }
      const std::string& task = msg.finished().task_id();
      absl::MutexLock lock(&mu_);
      auto it = workers_.find(worker);
      if (it == workers_.end() || it->second.stream != stream || !it->second.held.erase(task)) {
        Log("ignored a report from " + name + " about task " + task + ": not assigned to it");
        Refused("not_assigned");
        continue;
      }
      wake_ = true;
    }
    {
      absl::MutexLock lock(&mu_);
      auto it = workers_.find(worker);
      if (it != workers_.end() && it->second.stream == stream) workers_.erase(it);
    }
    Log("worker " + name + " unlinked");
    return grpc::Status::OK;
  }

 private:
  struct Link {
    Stream* stream = nullptr;
    std::set<std::string> held;  // tasks assigned and not yet reported finished
    std::string name;
  };

  bool Active() {
    absl::MutexLock lock(&mu_);
    return term_ != 0;
  }
  static grpc::Status Passive() {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this resource manager is passive; Postgres names the active one");
  }
  void Refused(const std::string& reason) { refused_.Add({{"reason", reason}}).Increment(); }

  std::string RenderMetrics() {
    {
      absl::MutexLock lock(&mu_);
      active_gauge_.Set(term_ != 0 ? 1 : 0);
      term_gauge_.Set(static_cast<double>(term_));
      linked_gauge_.Set(static_cast<double>(workers_.size()));
    }
    return prometheus::TextSerializer().Serialize(registry_.Collect());
  }

  void Wake() {
    absl::MutexLock lock(&mu_);
    wake_ = true;
  }

  // Routes ready tasks to idle linked workers whenever something may have changed, and at
  // least twice a second (a lost notification only delays work).
  void Schedule() {
    std::unique_ptr<pqxx::connection> conn;
    while (!stopping_.HasBeenNotified()) {
      std::vector<std::string> idle;
      uint64_t term;
      {
        absl::MutexLock lock(&mu_);
        mu_.AwaitWithTimeout(absl::Condition(&wake_), absl::Milliseconds(500));
        wake_ = false;
        term = term_;
        for (const auto& [id, link] : workers_) {
          if (link.held.empty()) idle.push_back(id);
        }
      }
      if (idle.empty() || stopping_.HasBeenNotified()) continue;
      std::vector<tasking::Assigned> assigned;
      try {
        if (!conn) conn = std::make_unique<pqxx::connection>(connection_string_);
        assigned = tasking::AssignReadyTasks(*conn, term, idle);
      } catch (const std::exception& e) {
        Log(std::string("scheduling: ") + e.what());
        conn.reset();
        stopping_.WaitForNotificationWithTimeout(absl::Milliseconds(200));
        continue;
      }
      absl::MutexLock lock(&mu_);
      for (const auto& [task, worker] : assigned) {
        auto it = workers_.find(worker);
        if (it == workers_.end()) continue;  // gone since: requeued when it links again
        pulp::v1::ManagerMessage msg;
        auto* a = msg.mutable_assignment();
        a->set_task_id(task.pk);
        a->set_term(term);
        a->set_name(task.name);
        a->set_args_json(DumpJson(task.args));
        a->set_kwargs_json(DumpJson(task.kwargs));
        a->set_logging_cid(task.logging_cid);
        it->second.held.insert(task.pk);
        it->second.stream->Write(msg);  // if this fails the worker relinks and it is requeued
      }
      if (!assigned.empty()) wake_ = true;  // more may be ready for other idle workers
    }
  }

  AppContext& app_;
  const ResourceManagerOptions options_;
  const std::string connection_string_;
  Server* server_ = nullptr;
  absl::Notification stopping_;
  absl::Mutex mu_;
  bool wake_ ABSL_GUARDED_BY(mu_) = true;
  uint64_t term_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, Link> workers_ ABSL_GUARDED_BY(mu_);
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Counter>& refused_ =
      prometheus::BuildCounter()
          .Name("resource_manager_refused_total")
          .Help("Worker messages refused or ignored, by reason")
          .Register(registry_);
  prometheus::Gauge& active_gauge_ = prometheus::BuildGauge()
                                         .Name("resource_manager_active")
                                         .Help("1 while this resource manager leads")
                                         .Register(registry_)
                                         .Add({});
  prometheus::Gauge& term_gauge_ = prometheus::BuildGauge()
                                       .Name("resource_manager_term")
                                       .Help("The term this resource manager leads in (0: passive)")
                                       .Register(registry_)
                                       .Add({});
  prometheus::Gauge& linked_gauge_ = prometheus::BuildGauge()
                                         .Name("resource_manager_linked_workers")
                                         .Help("Workers linked to this resource manager")
                                         .Register(registry_)
                                         .Add({});
};

}  // namespace

int RunResourceManager(AppContext& app, const ResourceManagerOptions& options) {
  return Manager(app, options).Run();
}

}  // namespace pulp::core::rpc
