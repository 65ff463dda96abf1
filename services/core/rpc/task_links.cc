#include "services/core/rpc/task_links.h"

#include <atomic>
#include <chrono>
#include <deque>
#include <iostream>
#include <pqxx/pqxx>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "pulp/v1/tasking.grpc.pb.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/rpc/server_internal.h"
#include "services/core/tasking/classic.h"

namespace pulp::core::rpc {
namespace {

using Stream = grpc::ClientReaderWriter<pulp::v1::WorkerMessage, pulp::v1::ManagerMessage>;

class ManagerLink : public tasking::AssignmentSource {
 public:
  ManagerLink(std::string connection_string, std::string worker_id, std::string worker_name,
              std::function<void()> wake)
      : connection_string_(std::move(connection_string)),
        worker_id_(std::move(worker_id)),
        worker_name_(std::move(worker_name)),
        wake_(std::move(wake)) {
    reader_ = std::thread([this] { Run(); });
    watcher_ = std::thread([this] { Watch(); });
  }

  ~ManagerLink() override {
    stop_.Notify();
    {
      absl::MutexLock lock(&mu_);
      if (ctx_) ctx_->TryCancel();
    }
    reader_.join();
    watcher_.join();
  }

  std::vector<tasking::Assignment> Take() override {
    absl::MutexLock lock(&mu_);
    std::vector<tasking::Assignment> out(pending_.begin(), pending_.end());
    pending_.clear();
    return out;
  }

  void Finished(const std::string& task_pk, uint64_t term) override {
    absl::MutexLock lock(&mu_);
    held_.erase(task_pk);
    if (!stream_) return;  // a new manager learns it from the registration
    pulp::v1::WorkerMessage msg;
    msg.mutable_finished()->set_task_id(task_pk);
    msg.mutable_finished()->set_term(term);
    stream_->Write(msg);  // a failed write surfaces as a broken stream to the reader
  }

 private:
  // Connects to whichever manager leads, reads assignments until the stream breaks, repeats.
  void Run() {
    std::unique_ptr<pqxx::connection> conn;
    while (!stop_.HasBeenNotified()) {
      std::optional<tasking::ManagerLeader> leader;
      try {
        if (!conn) conn = std::make_unique<pqxx::connection>(connection_string_);
        leader = tasking::CurrentLeader(*conn);
      } catch (const std::exception&) {
        conn.reset();
      }
      if (!leader || !leader->lease_valid) {
        stop_.WaitForNotificationWithTimeout(absl::Milliseconds(200));
        continue;
      }
      auto stub = pulp::v1::ResourceManager::NewStub(ChannelTo(leader->grpc_address));
      auto ctx = std::make_unique<grpc::ClientContext>();
      std::unique_ptr<Stream> stream = stub->WorkerLink(ctx.get());
      pulp::v1::WorkerMessage hello;
      {
        absl::MutexLock lock(&mu_);
        hello.mutable_register_()->set_worker_id(worker_id_);
        hello.mutable_register_()->set_worker_name(worker_name_);
        // Anything this worker still has (running, or received and not yet answered) stays its.
        for (const std::string& t : held_) hello.mutable_register_()->add_held_task_ids(t);
        ctx_ = ctx.get();
        term_ = leader->term;
      }
      if (stream->Write(hello)) {
        {
          absl::MutexLock lock(&mu_);
          stream_ = stream.get();
        }
        pulp::v1::ManagerMessage msg;
        while (stream->Read(&msg)) {
          if (!msg.has_assignment()) continue;
          {
            absl::MutexLock lock(&mu_);
            held_.insert(msg.assignment().task_id());
            const auto& a = msg.assignment();
            pending_.push_back(
                {a.task_id(), a.term(), a.name(), a.args_json(), a.kwargs_json(), a.logging_cid()});
          }
          wake_();
        }
      }
      {
        absl::MutexLock lock(&mu_);
        stream_ = nullptr;
        ctx_ = nullptr;
      }
      stream->Finish();
      if (!stop_.HasBeenNotified()) {
        stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100));
      }
    }
  }

  // A stalled manager keeps its stream open: when Postgres names a newer leader, drop it.
  void Watch() {
    std::unique_ptr<pqxx::connection> conn;
    while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(500))) {
      try {
        if (!conn) conn = std::make_unique<pqxx::connection>(connection_string_);
        auto leader = tasking::CurrentLeader(*conn);
        absl::MutexLock lock(&mu_);
        if (leader && ctx_ != nullptr && leader->term > term_) ctx_->TryCancel();
      } catch (const std::exception&) {
        conn.reset();
      }
    }
  }

  const std::string connection_string_, worker_id_, worker_name_;
  const std::function<void()> wake_;
  absl::Notification stop_;
  absl::Mutex mu_;
  std::deque<tasking::Assignment> pending_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> held_ ABSL_GUARDED_BY(mu_);  // assigned and not yet answered
  grpc::ClientContext* ctx_ ABSL_GUARDED_BY(mu_) = nullptr;
  Stream* stream_ ABSL_GUARDED_BY(mu_) = nullptr;
  uint64_t term_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread reader_, watcher_;
};

}  // namespace

std::unique_ptr<tasking::AssignmentSource> ConnectToResourceManager(std::string connection_string,
                                                                    std::string worker_id,
                                                                    std::string worker_name,
                                                                    std::function<void()> wake) {
  return std::make_unique<ManagerLink>(std::move(connection_string), std::move(worker_id),
                                       std::move(worker_name), std::move(wake));
}

void NotifyResourceManager(AppContext& app, const std::string& task_id) {
  // The leader's address is remembered for a second (a dispatch burst reads it once) and
  // forgotten when a call fails.
  static absl::Mutex mu;
  static std::string cached ABSL_GUARDED_BY(mu);
  static absl::Time cached_at ABSL_GUARDED_BY(mu);
  std::string address;
  {
    absl::MutexLock lock(&mu);
    if (absl::Now() - cached_at < absl::Seconds(1)) address = cached;
  }
  if (address.empty()) {
    try {
      auto lease = app.pool->Acquire(std::chrono::seconds(1));
      if (!lease.ok()) return;
      auto leader = tasking::CurrentLeader(**lease);
      if (!leader) return;
      address = leader->grpc_address;
    } catch (const std::exception&) {
      return;
    }
    absl::MutexLock lock(&mu);
    cached = address;
    cached_at = absl::Now();
  }
  auto stub = pulp::v1::ResourceManager::NewStub(ChannelTo(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  pulp::v1::TaskDispatchedRequest req;
  req.set_task_id(task_id);
  pulp::v1::TaskDispatchedResponse res;
  if (!stub->TaskDispatched(&ctx, req, &res).ok()) {
    // Passive or gone: look the leader up again next time. Its own scan finds this task.
    absl::MutexLock lock(&mu);
    cached.clear();
    cached_at = absl::Time();
  }
}

bool CancelOnWorker(const std::string& address, const std::string& task_id) {
  auto stub = pulp::v1::TaskControl::NewStub(ChannelTo(address));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
  pulp::v1::CancelTaskRequest req;
  req.set_task_id(task_id);
  pulp::v1::CancelTaskResponse res;
  return stub->CancelTask(&ctx, req, &res).ok() && res.signalled();
}

}  // namespace pulp::core::rpc
