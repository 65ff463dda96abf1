#pragma once

#include <string>

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::rpc {

struct ResourceManagerOptions {
  std::string grpc_bind = "127.0.0.1:0";
  std::string advertise_host;
  // Exit with tasking::kExitPassive instead of standing by when another manager leads.
  bool exit_if_passive = false;
  // How long a leader that stops renewing (stalled) keeps the lead.
  int lease_seconds = 3;
  std::string metrics_host = "127.0.0.1";
  int metrics_port = 0;  // /metrics: active, term, linked workers, refused reports
};

// pulp-resource-manager: stands by until it leads (Postgres lock + lease, fenced by a term),
// then routes ready tasks to idle workers over their gRPC links, first come first served per
// resource. Exits (code 1) the moment it finds it no longer leads, so a stalled leader that
// resumes never routes again; a supervisor restarts it as a standby. SIGTERM/SIGINT: exit 0.
int RunResourceManager(AppContext& app, const ResourceManagerOptions& options);

}  // namespace pulp::core::rpc
