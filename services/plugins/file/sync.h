#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pulp::core {
struct AppContext;
namespace http {
class Router;
}
namespace tasking {
class TaskRegistry;
}
}  // namespace pulp::core

namespace pulp::plugins::file {

// One PULP_MANIFEST line: "<relative_path>,<sha256>,<size>".
struct ManifestEntry {
  std::string relative_path;
  std::string digest;
  int64_t size = 0;
};

// Parses a PULP_MANIFEST as upstream does (blank lines and '#' comments skipped; the path may
// contain commas). Throws std::runtime_error naming the first bad line.
std::vector<ManifestEntry> ParseManifest(const std::string& text);

// POST <repository href>sync/ and pulp_file.app.tasks.synchronizing.synchronize.
void RegisterSyncRoute(core::AppContext& app, core::http::Router& router);
void RegisterSyncTask(core::tasking::TaskRegistry& registry);

}  // namespace pulp::plugins::file
