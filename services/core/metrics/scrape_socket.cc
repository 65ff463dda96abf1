#include "services/core/metrics/scrape_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace pulp::core::metrics {

absl::StatusOr<std::unique_ptr<ScrapeSocket>> ScrapeSocket::Listen(const std::string& host,
                                                                   int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(std::strerror(errno));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (inet_pton(AF_INET, host.empty() ? "0.0.0.0" : host.c_str(), &addr.sin_addr) != 1) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("bad metrics address ", host));
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd, 16) != 0) {
    const std::string err = std::strerror(errno);
    close(fd);
    return absl::UnavailableError(absl::StrCat("metrics on ", host, ":", port, ": ", err));
  }
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<ScrapeSocket>(new ScrapeSocket(fd, ntohs(addr.sin_port)));
}

ScrapeSocket::~ScrapeSocket() { close(fd_); }

void ScrapeSocket::ServeOne(const std::function<std::string()>& render) {
  int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
  if (c < 0) return;
  std::string request;
  char buf[2048];
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < 8192) {
    pollfd p{c, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) break;
    ssize_t n = read(c, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string status = "200 OK", body, type = "text/plain; version=0.0.4";
  if (absl::StartsWith(request, "GET /metrics")) {
    body = render();
  } else {
    status = "404 Not Found";
    body = "not found\n";
    type = "text/plain";
  }
  const std::string response =
      absl::StrCat("HTTP/1.1 ", status, "\r\nContent-Type: ", type,
                   "\r\nContent-Length: ", body.size(), "\r\nConnection: close\r\n\r\n", body);
  size_t off = 0;
  while (off < response.size()) {
    pollfd p{c, POLLOUT, 0};
    if (poll(&p, 1, 200) <= 0) break;
    ssize_t w = write(c, response.data() + off, response.size() - off);
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  close(c);
}

}  // namespace pulp::core::metrics
