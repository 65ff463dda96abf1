#include "services/core/http/server.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <csignal>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <iostream>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace pulp::core::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

using Parser = bhttp::request_parser<bhttp::buffer_body>;

// Reads the body straight from the socket through Beast's parser, on the handler's thread.
class SocketBodyReader : public BodyReader {
 public:
  SocketBodyReader(tcp::socket& socket, beast::flat_buffer& buffer, Parser& parser,
                   bool expect_continue)
      : socket_(socket), buffer_(buffer), parser_(parser), expect_continue_(expect_continue) {}

  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    if (failed_) return absl::DataLossError("request body unreadable");
    if (expect_continue_) {
      expect_continue_ = false;
      beast::error_code ec;
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::write(socket_, asio::buffer(kContinue, sizeof kContinue - 1), ec);
      if (ec) return Fail("could not send 100 Continue");
    }
    while (!parser_.is_done()) {
      parser_.get().body().data = buf;
      parser_.get().body().size = n;
      beast::error_code ec;
      bhttp::read_some(socket_, buffer_, parser_, ec);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) return Fail(ec.message());
      const size_t got = n - parser_.get().body().size;
      if (got > 0) return got;
    }
    return 0;
  }

  std::optional<uint64_t> ContentLength() const override {
    auto len = parser_.content_length();
    if (!len) return std::nullopt;
    return *len;
  }

  bool done() const { return parser_.is_done(); }

 private:
  absl::Status Fail(const std::string& why) {
    failed_ = true;
    return absl::DataLossError(absl::StrCat("request body: ", why));
  }

  tcp::socket& socket_;
  beast::flat_buffer& buffer_;
  Parser& parser_;
  bool expect_continue_;
  bool failed_ = false;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const Handler& handler, size_t max_header_bytes,
          asio::thread_pool* blocking)
      : socket_(std::move(socket)),
        handler_(handler),
        max_header_bytes_(max_header_bytes),
        blocking_(blocking) {}

  void Start() { ReadHeader(); }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(max_header_bytes_));
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());  // handlers enforce their own
                                                                     // limits while streaming
    bhttp::async_read_header(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    // Body bytes that arrived with the header are not an error: the handler reads them.
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec) {
      std::cerr << "bad request header from client: " << ec.message() << std::endl;
      WriteError(
          ec == bhttp::error::header_limit ? 431 : 400,
          ec == bhttp::error::header_limit ? "Request Header Fields Too Large" : "Bad Request");
      return Close();
    }
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    absl::AsciiStrToUpper(&req.method);
    std::string_view target = msg.target();
    const size_t q = target.find('?');
    auto path = PercentDecode(absl::string_view(target.data(), std::min(q, target.size())), false);
    if (!path || path->empty() || (*path)[0] != '/') {
      WriteError(400, "Bad Request");
      return Close();
    }
    req.path = std::move(*path);
    if (q != std::string_view::npos) {
      req.raw_query = std::string(target.substr(q + 1));
      req.query = ParseQueryString(req.raw_query);
    }
    for (const auto& field : msg) {
      std::string name(field.name_string());
      absl::AsciiStrToLower(&name);
      auto [it, inserted] = req.headers.emplace(name, std::string(field.value()));
      if (!inserted) absl::StrAppend(&it->second, ", ", std::string(field.value()));
    }
    beast::error_code peer_ec;
    auto ep = socket_.remote_endpoint(peer_ec);
    if (!peer_ec) req.peer = ep.address().to_string();
    const bool expect_continue =
        absl::EqualsIgnoreCase(req.Header("expect"), "100-continue") && !parser_->is_done();
    SocketBodyReader body(socket_, buffer_, *parser_, expect_continue);
    req.body = &body;
    const bool keep_alive = msg.keep_alive();
    const bool head = req.method == "HEAD";

    Response res;
    try {
      res = handler_(req);
    } catch (const std::exception& e) {
      std::cerr << "unhandled error serving " << req.method << " " << req.path << ": " << e.what()
                << std::endl;
      res = Response::Json(500, core::Json{{"detail", "Internal Server Error"}});
    }
    // A body the handler did not read is drained when small, so the connection stays usable;
    // otherwise the connection closes after the response.
    bool reusable = keep_alive;
    if (!body.done()) {
      char sink[16384];
      size_t drained = 0;
      while (!body.done() && drained < (1u << 20)) {
        auto n = body.Read(sink, sizeof sink);
        if (!n.ok() || *n == 0) break;
        drained += *n;
      }
      if (!body.done()) reusable = false;
    }
    if (res.deferred && blocking_ != nullptr) {
      // Long work goes to the blocking pool so this event loop keeps serving its other
      // connections; the session continues on its own loop afterwards.
      asio::post(*blocking_, [self = shared_from_this(), deferred = std::move(res.deferred), head,
                              reusable]() mutable {
        Response late = deferred();
        const bool ok = self->Write(late, head, reusable);
        asio::post(self->socket_.get_executor(), [self, ok, reusable] {
          if (!ok || !reusable) return self->Close();
          self->ReadHeader();
        });
      });
      return;
    }
    if (res.deferred) res = res.deferred();
    if (!Write(res, head, reusable)) return Close();
    if (!reusable) return Close();
    ReadHeader();
  }

  // Sends a streamed body as chunks, headers first; see Response::stream.
  class ChunkedSink : public BodySink {
   public:
    ChunkedSink(Session& session, Response& res, bool keep_alive)
        : session_(session), res_(res), keep_alive_(keep_alive) {}
    bool Write(const char* data, size_t n) override {
      if (!client_ok_ || n == 0) return client_ok_;
      beast::error_code ec;
      if (!started_) client_ok_ = WriteHeaders();
      if (client_ok_) {
        asio::write(session_.socket_, bhttp::make_chunk(asio::const_buffer(data, n)), ec);
        client_ok_ = !ec;
      }
      return client_ok_;
    }
    void Replace(Response other) override {
      if (!started_) replacement_ = std::move(other);
    }
    // Ends the response; false when the connection cannot carry another request.
    bool Finish(bool complete) {
      if (!started_) {
        if (replacement_) return session_.Write(*replacement_, false, keep_alive_);
        if (!complete) {
          Response failed = Response::Text(502, "text/plain; charset=utf-8", "502: Bad Gateway");
          return session_.Write(failed, false, keep_alive_);
        }
        if (!WriteHeaders()) return false;  // an empty body
      }
      if (!complete || !client_ok_) return false;
      beast::error_code ec;
      asio::write(session_.socket_, bhttp::make_chunk_last(), ec);
      return !ec;
    }
    bool started() const { return started_; }

   private:
    bool WriteHeaders() {
      started_ = true;
      bhttp::response<bhttp::empty_body> out;
      out.result(res_.status);
      Decorate(out, res_, keep_alive_);
      out.chunked(true);
      beast::error_code ec;
      bhttp::response_serializer<bhttp::empty_body> sr(out);
      bhttp::write_header(session_.socket_, sr, ec);
      return !ec;
    }

    Session& session_;
    Response& res_;
    const bool keep_alive_;
    bool started_ = false, client_ok_ = true;
    std::optional<Response> replacement_;
  };

  bool Write(Response& res, bool head, bool keep_alive) {
    beast::error_code ec;
    if (res.stream && !head) {
      ChunkedSink sink(*this, res, keep_alive);
      const bool complete = res.stream(sink);
      if (sink.Finish(complete)) return true;
      if (sink.started()) {
        // Reset rather than end cleanly: a truncated body must look like a failure.
        socket_.set_option(asio::socket_base::linger(true, 0), ec);
        socket_.close(ec);
      }
      return false;
    }
    if (!res.file_path.empty()) {
      const int fd = ::open(res.file_path.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st;
      if (fd < 0 || ::fstat(fd, &st) != 0) {
        if (fd >= 0) ::close(fd);
        res = Response::Json(404, core::Json{{"detail", "Not found."}});
      } else {
        const uint64_t size = static_cast<uint64_t>(st.st_size);
        const uint64_t offset = std::min<uint64_t>(res.file_offset, size);
        const uint64_t length = res.file_length < 0
                                    ? size - offset
                                    : std::min<uint64_t>(res.file_length, size - offset);
        bhttp::response<bhttp::empty_body> out;
        out.result(res.status);
        Decorate(out, res, keep_alive);
        out.content_length(length);
        bhttp::response_serializer<bhttp::empty_body> sr(out);
        sr.split(true);
        std::string header;
        while (!ec && !sr.is_header_done()) {
          sr.next(ec, [&](beast::error_code&, const auto& buffers) {
            header += beast::buffers_to_string(buffers);
            sr.consume(beast::buffer_bytes(buffers));
          });
        }
        // MSG_MORE: the header waits for the file's first bytes, so a small file goes out in
        // one segment instead of two.
        const bool ok = !ec && SendAll(header, head || length == 0 ? 0 : MSG_MORE) &&
                        (head || SendFile(fd, offset, length));
        ::close(fd);
        return ok;
      }
    }
    bhttp::response<bhttp::string_body> out;
    out.result(res.status);
    Decorate(out, res, keep_alive);
    out.body() = std::move(res.body);
    out.prepare_payload();
    if (head) {
      bhttp::response_serializer<bhttp::string_body> sr(out);
      bhttp::write_header(socket_, sr, ec);
    } else {
      bhttp::write(socket_, out, ec);
    }
    return !ec;
  }

  // Writes all of `data` to the socket, waiting while it is full.
  bool SendAll(const std::string& data, int flags) {
    const int sock = socket_.native_handle();
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::send(sock, data.data() + done, data.size() - done, flags | MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{sock, POLLOUT, 0};
        if (::poll(&p, 1, 30'000) <= 0) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  // Kernel-side copy from the file to the socket; waits for the socket when it is full.
  bool SendFile(int fd, uint64_t offset, uint64_t length) {
    const int sock = socket_.native_handle();
    off_t pos = static_cast<off_t>(offset);
    uint64_t left = length;
    while (left > 0) {
      const ssize_t n = ::sendfile(sock, fd, &pos, std::min<uint64_t>(left, 1u << 30));
      if (n > 0) {
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{sock, POLLOUT, 0};
        if (::poll(&p, 1, 30'000) <= 0) return false;  // a client that stops reading is dropped
        continue;
      }
      return false;  // EOF on the file (truncated under us) or a dead socket
    }
    return true;
  }

  template <class Msg>
  static void Decorate(Msg& out, const Response& res, bool keep_alive) {
    out.version(11);
    out.keep_alive(keep_alive);
    out.set(bhttp::field::server, "pulp");
    if (!res.content_type.empty()) out.set(bhttp::field::content_type, res.content_type);
    for (const auto& [k, v] : res.headers) out.insert(k, v);
  }

  void WriteError(int status, const char* reason) {
    Response r = Response::Json(status, core::Json{{"detail", reason}});
    Write(r, false, false);
  }

  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    socket_.close(ec);
  }

  friend class ChunkedSink;
  tcp::socket socket_;
  const Handler& handler_;
  const size_t max_header_bytes_;
  asio::thread_pool* const blocking_;  // may be null: deferred work then runs in place
  beast::flat_buffer buffer_;
  boost::optional<Parser> parser_;
};

class BeastServer : public Server {
 public:
  BeastServer(Handler handler, int threads, bool shard, int blocking_threads)
      : handler_(std::move(handler)), threads_(threads) {
    if (blocking_threads > 0) blocking_.emplace(blocking_threads);
    // Sharded: one event loop per thread, so a ready connection never wakes another thread
    // (cross-thread wake-ups were most of the cost of a small cached response). Shared: any
    // idle thread takes any ready connection, fairer when handlers block for long.
    for (int i = 0; i < (shard ? threads : 1); ++i) {
      ios_.push_back(std::make_unique<asio::io_context>(shard ? 1 : threads));
    }
    acceptor_.emplace(*ios_[0]);
  }

  ~BeastServer() override { Stop(); }

  absl::Status Listen(const ServerOptions& options) {
    beast::error_code ec;
    auto address = asio::ip::make_address(options.host, ec);
    if (ec) return absl::InvalidArgumentError(absl::StrCat("bad bind address ", options.host));
    tcp::endpoint ep(address, options.port);
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", options.host, ":", options.port, ": ", ec.message()));
    }
    port_ = acceptor_->local_endpoint().port();
    max_header_bytes_ = options.max_header_bytes;
    Accept();
    for (int i = 0; i < threads_; ++i) {
      asio::io_context* io = ios_[i % ios_.size()].get();
      pool_.emplace_back([io] {
        auto work = asio::make_work_guard(*io);  // a shard without connections keeps waiting
        io->run();
      });
    }
    return absl::OkStatus();
  }

  uint16_t port() const override { return port_; }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(*ios_[0], [this] {
      beast::error_code ec;
      acceptor_->close(ec);
    });
    for (auto& io : ios_) io->stop();
    for (auto& t : pool_) t.join();
    if (blocking_) {
      blocking_->stop();
      blocking_->join();
    }
  }

 private:
  void Accept() {
    asio::io_context& target = *ios_[next_shard_++ % ios_.size()];
    acceptor_->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), handler_, max_header_bytes_,
                                  blocking_ ? &*blocking_ : nullptr)
            ->Start();
      }
      Accept();
    });
  }

  Handler handler_;
  const int threads_;
  std::vector<std::unique_ptr<asio::io_context>> ios_;
  std::optional<tcp::acceptor> acceptor_;
  size_t next_shard_ = 0;  // touched only by the accepting thread
  std::optional<asio::thread_pool> blocking_;
  std::vector<std::thread> pool_;
  uint16_t port_ = 0;
  size_t max_header_bytes_ = 64 * 1024;
  std::atomic<bool> stopped_{false};
};

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Handler handler) {
  // A client that hangs up mid-response must cost one connection, not the process: sendfile()
  // has no MSG_NOSIGNAL.
  ::signal(SIGPIPE, SIG_IGN);
  auto server = std::make_unique<BeastServer>(std::move(handler), std::max(1, options.threads),
                                              options.shard_connections, options.blocking_threads);
  if (auto st = server->Listen(options); !st.ok()) return st;
  return std::unique_ptr<Server>(std::move(server));
}

absl::StatusOr<std::pair<std::string, uint16_t>> ParseBindAddress(absl::string_view bind) {
  const size_t colon = bind.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("bind address needs a port: ", bind));
  }
  std::string host(bind.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  if (!absl::SimpleAtoi(bind.substr(colon + 1), &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in bind address: ", bind));
  }
  return std::make_pair(host, static_cast<uint16_t>(port));
}

}  // namespace pulp::core::http
