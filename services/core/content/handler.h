#pragma once

#include <cstdint>
#include <functional>

#include "services/core/http/server.h"

namespace pulp::core {
struct AppContext;

namespace content {

// The content app: its request handler resolves /pulp/content/<base_path>/<path> by the
// distribution whose base path is the longest prefix, then its publication (explicit, or the
// latest of its repository version or repository), then the published file, and sends it with
// sendfile, Range, HEAD, ETag/Last-Modified and directory listings as upstream does; content
// not stored yet comes from its remote. What distributions serve is cached; `invalidate`
// drops it (returns how many distributions were cached).
struct ContentApp {
  http::Handler handler;
  std::function<uint64_t()> invalidate;
};
ContentApp MakeContentApp(AppContext& app);

}  // namespace content
}  // namespace pulp::core
