#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace pulp::core::metrics {

// A tiny /metrics endpoint for single-threaded processes (the worker forks, so it may not run
// a server thread): the owner polls fd() and calls ServeOne() when it is readable.
class ScrapeSocket {
 public:
  static absl::StatusOr<std::unique_ptr<ScrapeSocket>> Listen(const std::string& host, int port);
  ~ScrapeSocket();
  int fd() const { return fd_; }
  int port() const { return port_; }
  // Accepts one connection and answers it with `render()` (text exposition format). Bounded:
  // a client that sends nothing within 200 ms is dropped.
  void ServeOne(const std::function<std::string()>& render);

 private:
  ScrapeSocket(int fd, int port) : fd_(fd), port_(port) {}
  int fd_;
  int port_;
};

}  // namespace pulp::core::metrics
