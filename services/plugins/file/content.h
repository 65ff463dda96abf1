#pragma once

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

// Declares the "file.file" content type (hrefs, PRNs, its repository key: relative_path).
void RegisterContentType(core::AppContext& app);
// /pulp/api/v3/content/file/files/: list, read, create (task), upload (synchronous).
void RegisterContentRoutes(core::AppContext& app, core::http::Router& router);
// general_create for file.FileContentSerializer.
void RegisterContentTasks(core::tasking::TaskRegistry& registry);

}  // namespace pulp::plugins::file
