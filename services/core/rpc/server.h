#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/config/settings.h"

namespace pulp::core::rpc {

// What a process answers over gRPC; each unset handler leaves its service out. The standard
// grpc.health.v1 service is always there.
struct Services {
  // pulp.v1.ContentCache/Invalidate: drops cached resolutions; returns how many.
  std::function<uint64_t(const std::vector<std::string>& base_paths, const std::string& reason)>
      invalidate_content;
  // pulp.v1.TaskControl/CancelTask: true when this process ran the task and killed it.
  std::function<bool(const std::string& task_id)> cancel_task;
};

struct ServerOptions {
  std::string bind = "127.0.0.1:0";  // port 0: any free port
  // Host others reach this process by (recorded in its heartbeat row); empty: the bind host,
  // or this machine's hostname when bound to every interface.
  std::string advertise_host;
};

// Reads the GRPC_TLS_* files once per process: from then on every server and channel of the
// process uses mutual TLS. An unreadable file is an error naming its setting.
absl::Status ConfigureTls(const Settings::GrpcTls& tls);

// A process's gRPC server (health plus `Services`), on threads of its own. Headers of gRPC stay
// out of this interface so most of the code base compiles without them.
class Server {
 public:
  virtual ~Server() = default;
  // "host:port" others can dial.
  virtual const std::string& address() const = 0;
  // grpc.health.v1 status of the whole process ("" service): SERVING or NOT_SERVING.
  virtual void SetServing(bool serving) = 0;
  // Status of one named service ("pulp.v1.ResourceManager": SERVING only while active).
  virtual void SetServing(const std::string& service, bool serving) = 0;
  virtual void Stop() = 0;

  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       Services services);
};

}  // namespace pulp::core::rpc
