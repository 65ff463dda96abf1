#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/core/util/json.h"

namespace pulp::core::http {

// Reads a request body as it arrives on the socket: handlers stream uploads to disk instead of
// holding them in memory.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Up to `n` bytes into `buf`; 0 at the end of the body. An error means the client broke off
  // (truncated body, reset connection).
  virtual absl::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // Declared Content-Length, if the client sent one (not with chunked encoding).
  virtual std::optional<uint64_t> ContentLength() const = 0;
};

struct User {
  int64_t id = 0;
  std::string username;
  bool is_superuser = false;
};

struct Request {
  std::string method;  // upper case, as sent
  std::string path;    // percent-decoded path, no query
  std::string raw_query;
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  std::map<std::string, std::string> headers;              // keys lower-case
  BodyReader* body = nullptr;
  std::string peer;

  // Filled in by the router and the middleware.
  std::map<std::string, std::string> path_params;
  std::optional<User> user;
  std::string correlation_id;

  std::string Header(absl::string_view lower_name) const;
  // "http://host:port" as the client addressed us, for absolute URLs (pagination, API root).
  std::string Origin() const;
  // Every value given for a query parameter, in order.
  std::vector<std::string> QueryValues(absl::string_view name) const;
  std::optional<std::string> QueryValue(absl::string_view name) const;
};

struct Response;

// Where a streamed response body goes (see Response::stream).
class BodySink {
 public:
  virtual ~BodySink() = default;
  // Sends a piece of the body; the status line and headers go out before the first piece.
  // False once the client is gone (later pieces are dropped; the producer may go on).
  virtual bool Write(const char* data, size_t n) = 0;
  // Sends `other` instead; only before the first Write (an error found before any data).
  virtual void Replace(Response other) = 0;
};

struct Response {
  int status = 200;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the server sends this file (zero-copy, sendfile) instead of `body`: bytes
  // [file_offset, file_offset + file_length); file_length < 0 means to the end of the file.
  std::string file_path;
  uint64_t file_offset = 0;
  int64_t file_length = -1;
  // When set, the body is produced over time (content fetched from a remote as it arrives) and
  // sent with chunked encoding. Returning false after a Write aborts the response: the
  // connection is reset, so the client cannot mistake a partial body for a whole one.
  std::function<bool(BodySink&)> stream;
  // When set, the real response comes from calling this, on a thread that may block for long
  // (fetching from a remote, waiting for another request's download) so the event loop that
  // read the request keeps serving its other connections.
  std::function<Response()> deferred;
  // Released once the response is sent (a temporary file the response reads from).
  std::shared_ptr<void> hold;

  static Response Json(int status, const core::Json& body);
  static Response Empty(int status);
  static Response Text(int status, std::string content_type, std::string body);
  void SetHeader(std::string name, std::string value);
};

// Percent-decoding for paths and query strings ('+' as space only in queries).
std::optional<std::string> PercentDecode(absl::string_view in, bool plus_is_space);
std::string PercentEncode(absl::string_view in);
std::vector<std::pair<std::string, std::string>> ParseQueryString(absl::string_view q);

}  // namespace pulp::core::http
