#pragma once

// Classic tasking (USE_NEW_WORKER_STYLE=False): one active pulp-resource-manager routes tasks
// to workers. This is its Postgres side, free of gRPC: who leads (a session advisory lock plus
// a lease, fenced by a term), which tasks are ready for which idle workers, and what a
// failover leaves to clean up.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <pqxx/connection>

#include "services/core/tasking/claim.h"

namespace pulp::core::tasking {

// The leader as Postgres records it.
struct ManagerLeader {
  uint64_t term = 0;
  std::string name;
  std::string grpc_address;
  bool lease_valid = false;
};
std::optional<ManagerLeader> CurrentLeader(pqxx::connection& conn);

// The application_name every database connection of manager `name` carries: a standby ends
// all of them when it takes over from a stalled leader, so no lock the leader held survives.
std::string ManagerApplicationName(const std::string& name);

// One manager's claim to lead. Holds its own connection: the session lock lives and dies with
// it, so a manager killed with SIGKILL frees the lock at once. `connection_string` must name
// the manager's application (ManagerApplicationName).
class Election {
 public:
  // `lease_seconds`: how long a leader that stopped renewing (stalled, SIGSTOP) keeps the lead
  // before a standby takes it over.
  Election(std::string connection_string, std::string name, std::string grpc_address,
           int lease_seconds);
  ~Election();

  // Tries to lead now: takes the lock if free; if a leader holds it but its lease ran out,
  // ends that leader's database session first. Returns the new term when this process leads.
  std::optional<uint64_t> TryLead();
  // Extends the lease; false when this process no longer leads (its term was superseded or its
  // connection is gone). Then it must stop routing at once.
  bool Renew();
  uint64_t term() const { return term_; }

 private:
  bool Connect();

  const std::string connection_string_, name_, grpc_address_;
  const int lease_seconds_;
  std::unique_ptr<pqxx::connection> conn_;
  uint64_t term_ = 0;
};

// Marks up to `idle_workers.size()` ready tasks running, one per idle worker, first come first
// served under the same resource rules as distributed mode, but only while `term` is current
// (a superseded manager claims nothing). Returns each claimed task with its worker.
struct Assigned {
  ClaimedTask task;
  std::string worker;
};
std::vector<Assigned> AssignReadyTasks(pqxx::connection& conn, uint64_t term,
                                       const std::vector<std::string>& idle_workers);

// A worker (re)registered holding `held_tasks` (running, or received and unanswered): every
// other task a manager marked running for it never reached it and goes back to waiting, in its
// original place in line. Returns how many.
int RequeueUnstarted(pqxx::connection& conn, const std::string& worker_id,
                     const std::vector<std::string>& held_tasks);

// A worker gives back a task assigned to it under `term` that it cannot run: it waits again,
// in its original place in line.
void HandBackTask(pqxx::connection& conn, const std::string& worker_id, const std::string& task,
                  uint64_t term);

// The exit code of `pulp-resource-manager --exit-if-passive` when another manager leads:
// EX_TEMPFAIL, "try again later", for a supervisor that relaunches it.
inline constexpr int kExitPassive = 75;

}  // namespace pulp::core::tasking
