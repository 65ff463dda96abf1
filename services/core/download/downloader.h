#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/util/json.h"

namespace pulp::core::storage {
class ArtifactStore;
class FileWriter;
}  // namespace pulp::core::storage

namespace pulp::core::download {

// A remote's network settings, as the remote serializer stores them.
struct Options {
  bool tls_validation = true;
  std::string ca_cert;  // PEM
  std::string proxy_url, proxy_username, proxy_password;
  std::string username, password;
  std::vector<std::string> headers;  // "Name: value"
  double connect_timeout = 0;        // 0 = libcurl's default
  double total_timeout = 0;
  double sock_read_timeout = 0;  // no byte for this long aborts
  int concurrency = 10;

  // From a core_remote row rendered with row_to_json.
  static Options FromRemote(const Json& remote);
};

struct Request {
  std::string url;
  std::optional<int64_t> expected_size;
  std::string expected_sha256;  // empty: not checked
};

struct Result {
  std::string error;                          // empty on success
  std::unique_ptr<storage::FileWriter> file;  // finished, hashed, not yet committed
};

// Fetches a small document (a manifest) into memory; over `max_bytes` is an error.
absl::StatusOr<std::string> FetchText(const std::string& url, const Options& options,
                                      size_t max_bytes);

// Fetches one URL and hands each piece of its body to `on_data` as it arrives (return false to
// stop: a Cancelled error). An HTTP error status is an Unavailable error and hands nothing on;
// `*http_status` (optional) gets the final status code (0 when no response came).
absl::Status Stream(const std::string& url, const Options& options,
                    const std::function<bool(const char*, size_t)>& on_data,
                    long* http_status = nullptr);

// Downloads every request in parallel (options.concurrency at once) into temporary files of
// `store`, hashing as bytes arrive, and checks size and sha256. Results line up with requests.
// `on_finished(n)` is told each time a transfer ends, with the number ended so far.
std::vector<Result> DownloadAll(storage::ArtifactStore& store, const std::vector<Request>& requests,
                                const Options& options,
                                const std::function<void(size_t)>& on_finished = {});

}  // namespace pulp::core::download
