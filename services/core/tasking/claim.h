#pragma once

#include <optional>
#include <string>

#include "services/core/util/json.h"

#include <pqxx/connection>

namespace pqxx {
class transaction_base;
}  // namespace pqxx

namespace pulp::core::tasking {

// A task a worker (or the API, for an immediate task) has taken: state is now `running`.
struct ClaimedTask {
  std::string pk;
  std::string name;
  Json args;
  Json kwargs;
  std::string logging_cid;
};

// Claims the oldest ready task (or only `only_pk` when given) for `worker_pk` (empty: the
// API process). A task is ready when no incomplete task holding a conflicting resource is ahead
// of it, and no running task holds one at all; conflicts are exclusive-vs-any and
// shared-vs-exclusive. Claims are serialized by one advisory lock, so two conflicting tasks
// never both start; dispatch takes the same lock shared, so a dispatcher never misses an idle
// worker. When nothing is claimable the worker is marked idle in the same transaction.
// `more_ready` tells whether other waiting tasks exist (the caller may wake a peer).
std::optional<ClaimedTask> ClaimTask(pqxx::connection& conn, const std::string& worker_pk,
                                     const std::string& only_pk, int worker_ttl,
                                     bool* more_waiting = nullptr);

// NOTIFYs one idle, live worker (at commit of `tx`); nothing if none is idle.
void WakeOneIdleWorker(pqxx::transaction_base& tx, int worker_ttl);

// SQL condition: waiting task `t` may start now. Running tasks block regardless of age;
// waiting ones only when they are ahead in line (first come, first served per resource).
std::string ReadyCondition();

// LISTEN/NOTIFY channel of one worker.
std::string WorkerChannel(const std::string& worker_pk);

// Shared lock taken by dispatchers, exclusive by claimers.
inline constexpr long long kClaimLockKey = 0x70756c70636c6d;  // "pulpclm"

}  // namespace pulp::core::tasking
