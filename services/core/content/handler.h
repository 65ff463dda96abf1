#pragma once

#include "services/core/http/server.h"

namespace pulp::core {
struct AppContext;

namespace content {

// The content app's request handler: resolves /pulp/content/<base_path>/<path> by the
// distribution whose base path is the longest prefix, then its publication (explicit, or the
// latest of its repository version or repository), then the published file, and sends it with
// sendfile, Range, HEAD, ETag/Last-Modified and directory listings as upstream does.
http::Handler MakeContentHandler(AppContext& app);

}  // namespace content
}  // namespace pulp::core
