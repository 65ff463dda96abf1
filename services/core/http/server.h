#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "services/core/http/message.h"

namespace pulp::core::http {

using Handler = std::function<Response(Request&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port; read it back with port()
  int threads = 4;    // handlers block (database, disk), so this bounds concurrent requests
  size_t max_header_bytes = 64 * 1024;
  // One event loop per thread with connections spread over them, instead of one loop all
  // threads share. Faster for short handlers; a handler that blocks stalls its loop's
  // connections only.
  bool shard_connections = false;
  // Threads for Response::deferred work (a download from a remote); 0 runs it in place.
  int blocking_threads = 0;
};

// HTTP/1.1 server with keep-alive. Idle connections cost no thread: headers are read
// asynchronously, then the handler runs on one of `threads` threads and reads the body from the
// socket as it needs it.
class Server {
 public:
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting, closes connections, joins the threads.
  virtual void Stop() = 0;

  static absl::StatusOr<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                                       Handler handler);
};

// "host:port" (or ":port", or "[v6]:port") from a --bind flag.
absl::StatusOr<std::pair<std::string, uint16_t>> ParseBindAddress(absl::string_view bind);

}  // namespace pulp::core::http
