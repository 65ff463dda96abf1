#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "services/core/http/message.h"
#include "services/core/util/json.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;

namespace content {

// Where content without a local artifact (synced on_demand or streamed) can be fetched.
struct RemoteSource {
  std::string content_artifact_pk;
  std::string remote_artifact_pk;
  std::string url;
  std::optional<int64_t> size;
  std::string sha256;
  std::string policy;  // the remote's: "on_demand" saves what it fetches, "streamed" never does
  Json remote;         // the core_remote row: network settings for the download
};

// The remote sources of `rel` in a publication, best first; empty when it has none (or every
// one failed within the last REMOTE_CONTENT_FETCH_FAILURE_COOLDOWN, 300 s).
std::vector<RemoteSource> FindRemoteSources(pqxx::transaction_base& tx,
                                            const std::string& publication_pk,
                                            const std::string& rel);

// Serves content from its remote: the body streams to the client as it arrives while it is
// written to a temporary file, then the size and sha256 are checked and (on_demand) the file
// becomes an artifact that later requests get from storage. Concurrent requests for the same
// missing file share one download: the first streams it, the others wait and are served from
// storage. A digest mismatch after bytes went out resets the connection.
class RemoteContent {
 public:
  explicit RemoteContent(AppContext& app);
  ~RemoteContent();
  // Must be called without holding a database connection: it may wait for another request.
  http::Response Serve(const http::Request& req, const std::vector<RemoteSource>& sources,
                       const std::string& rel);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace content
}  // namespace pulp::core
