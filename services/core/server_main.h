#pragma once

#include <memory>
#include <vector>

#include "services/core/plugin.h"

namespace pulp::core {

using PluginList = std::vector<std::unique_ptr<Plugin>>;

// The REST API process: settings, database, routes of every plugin, HTTP server, heartbeat;
// returns at SIGINT/SIGTERM. `args` are the flags after the program name (--bind, --threads).
int RunApiServer(const std::vector<std::string>& args, PluginList plugins);

// pulpcore-manager and its subcommands (migrate, showmigrations, check, reset-admin-password,
// collectstatic, openapi, runserver).
int RunManager(const std::vector<std::string>& args, PluginList plugins);

// pulp-content: serves distributed content (default bind 0.0.0.0:24816).
int RunContentApp(const std::vector<std::string>& args, PluginList plugins);

// pulpcore-worker: claims (or, in classic mode, is assigned) and runs tasks until SIGTERM/SIGINT.
int RunWorkerProcess(const std::vector<std::string>& args, PluginList plugins);

// pulp-resource-manager (classic tasking): one active, others standing by (or exiting with
// --exit-if-passive).
int RunResourceManagerProcess(const std::vector<std::string>& args, PluginList plugins);

}  // namespace pulp::core
