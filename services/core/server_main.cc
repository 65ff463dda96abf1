#include "services/core/server_main.h"

#include <csignal>
#include <filesystem>
#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/auth/password.h"
#include "services/core/content/handler.h"
#include "services/core/db/migrate.h"
#include "services/core/db/pool.h"
#include "services/core/endpoints/api_app.h"
#include "services/core/http/router.h"
#include "services/core/http/server.h"
#include "services/core/openapi/generator.h"
#include "services/core/rpc/content_notifier.h"
#include "services/core/rpc/resource_manager.h"
#include "services/core/rpc/server.h"
#include "services/core/rpc/task_links.h"
#include "services/core/status/heartbeat.h"
#include "services/core/tasking/worker.h"
#include "services/core/util/uuid.h"

#ifndef PULP_ASSETS_SOURCE
#define PULP_ASSETS_SOURCE ""
#endif

namespace pulp::core {
namespace {

// Blocks SIGINT/SIGTERM in every thread started after this, so one sigwait() sees them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

absl::StatusOr<std::unique_ptr<AppContext>> LoadApp(PluginList plugins, size_t pool_size) {
  auto settings = Settings::LoadFromProcessEnvironment();
  if (!settings.ok()) return settings.status();
  if (auto st = rpc::ConfigureTls(settings->grpc_tls); !st.ok()) return st;
  return AppContext::Create(*std::move(settings), std::move(plugins), pool_size);
}

// Value of "--name value" or "--name=value".
std::optional<std::string> Flag(const std::vector<std::string>& args, const std::string& name) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == name && i + 1 < args.size()) return args[i + 1];
    if (args[i].rfind(name + "=", 0) == 0) return args[i].substr(name.size() + 1);
  }
  return std::nullopt;
}

bool HasFlag(const std::vector<std::string>& args, const std::string& name) {
  for (const auto& a : args) {
    if (a == name) return true;
  }
  return false;
}

int Fail(const std::string& message, int code = 1) {
  std::cerr << message << std::endl;
  return code;
}

// --metrics-bind HOST:PORT into `host` and `port`; the error for a bad value.
std::optional<std::string> ReadMetricsBind(const std::vector<std::string>& args, std::string* host,
                                           int* port) {
  auto bind = Flag(args, "--metrics-bind");
  if (!bind) return std::nullopt;
  auto addr = http::ParseBindAddress(*bind);
  if (!addr.ok()) return std::string(addr.status().message());
  *host = addr->first;
  *port = addr->second;
  return std::nullopt;
}

// The process's gRPC server, bound per --grpc-bind (default: loopback, any free port) and
// advertised per --grpc-advertise-host (the pod IP under Kubernetes).
absl::StatusOr<std::unique_ptr<rpc::Server>> StartRpc(const std::vector<std::string>& args,
                                                      rpc::Services services) {
  rpc::ServerOptions options;
  options.bind = Flag(args, "--grpc-bind").value_or("127.0.0.1:0");
  options.advertise_host = Flag(args, "--grpc-advertise-host").value_or("");
  return rpc::Server::Start(options, std::move(services));
}

// Signals between tiers go over gRPC: changes to what is served reach the content apps;
// cancels reach the worker running the task; in classic mode, new tasks reach the active
// resource manager.
void WireTierSignals(AppContext& app) {
  app.served_content_changed = [&app](const std::string& reason) {
    rpc::InvalidateContentCaches(app, reason);
  };
  app.cancel_on_worker = [](const std::string& address, const std::string& task_id) {
    return rpc::CancelOnWorker(address, task_id);
  };
  if (!app.settings.use_new_worker_style) {
    app.task_queue_changed = [&app](const std::string& task_id) {
      rpc::NotifyResourceManager(app, task_id);
    };
  }
}

int ServeApi(AppContext& app, const std::string& bind, int threads,
             const std::vector<std::string>& args) {
  auto addr = http::ParseBindAddress(bind);
  if (!addr.ok()) return Fail(std::string(addr.status().message()), 2);
  if (auto st = app.pool->Ping(); !st.ok()) return Fail(std::string(st.message()));
  auto pending = db::PendingMigrations(*app.pool, app.AllMigrations());
  if (!pending.ok()) return Fail(std::string(pending.status().message()));
  if (!pending->empty()) {
    return Fail(absl::StrCat("The database schema is behind this build (", pending->size(),
                             " unapplied migrations): run `pulpcore-manager migrate` first."));
  }
  http::Router router;
  RegisterAllRoutes(app, router);
  const sigset_t signals = BlockStopSignals();
  http::ServerOptions options;
  options.host = addr->first;
  options.port = addr->second;
  options.threads = threads;
  auto server = http::Server::Start(options, MakeApiHandler(app, router));
  if (!server.ok()) return Fail(std::string(server.status().message()));
  auto rpc_server = StartRpc(args, {});
  if (!rpc_server.ok()) return Fail(std::string(rpc_server.status().message()));
  WireTierSignals(app);
  status::Heartbeat heartbeat(*app.pool, "api", status::ProcessName(), app.AppVersions(),
                              app.settings.api_app_ttl, (*rpc_server)->address());
  std::cout << "pulpcore-api listening on http://" << addr->first << ":" << (*server)->port()
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "pulpcore-api stopping (signal " << sig << ")" << std::endl;
  (*rpc_server)->SetServing(false);
  (*server)->Stop();
  (*rpc_server)->Stop();
  heartbeat.Stop();
  return 0;
}

int Migrate(AppContext& app, const std::vector<std::string>& args) {
  const auto all = app.AllMigrations();
  if (HasFlag(args, "--plan")) {
    auto pending = db::PendingMigrations(*app.pool, all);
    if (!pending.ok()) return Fail(std::string(pending.status().message()));
    std::cout << "Planned operations:" << std::endl;
    if (pending->empty()) std::cout << "  No planned migration operations." << std::endl;
    for (const auto& m : *pending) std::cout << "  " << m << std::endl;
    return 0;
  }
  std::cout << "Operations to perform:\n  Apply all migrations: core, file\nRunning migrations:"
            << std::endl;
  auto applied = db::ApplyMigrations(*app.pool, all);
  if (!applied.ok()) return Fail(std::string(applied.status().message()));
  if (applied->empty()) std::cout << "  No migrations to apply." << std::endl;
  for (const auto& m : *applied) std::cout << "  Applying " << m << "... OK" << std::endl;
  return 0;
}

int ShowMigrations(AppContext& app) {
  auto states = db::ListMigrations(*app.pool, app.AllMigrations());
  if (!states.ok()) return Fail(std::string(states.status().message()));
  std::string app_label;
  for (const auto& s : *states) {
    if (s.migration.app != app_label) {
      app_label = s.migration.app;
      std::cout << app_label << std::endl;
    }
    std::string name = s.migration.name.substr(0, s.migration.name.rfind(".sql"));
    std::cout << " [" << (s.applied ? "X" : " ") << "] " << name << std::endl;
  }
  return 0;
}

// Letters and digits, as Django's get_random_string.
std::string RandomPassword(size_t length) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const std::string entropy = RandomHex(length * 2);
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    const int byte = std::stoi(entropy.substr(i * 2, 2), nullptr, 16);
    out.push_back(kAlphabet[byte % 62]);  // bias below 1%: fine for a bootstrap password
  }
  return out;
}

int ResetAdminPassword(AppContext& app, const std::vector<std::string>& args) {
  std::string password;
  if (auto p = Flag(args, "--password")) {
    password = *p;
  } else if (HasFlag(args, "--random")) {
    password = RandomPassword(20);
  } else {
    return Fail("usage: pulpcore-manager reset-admin-password [--password PASSWORD | --random]", 2);
  }
  if (password.empty()) return Fail("The password must not be empty.", 2);
  try {
    auto lease = app.pool->Acquire();
    if (!lease.ok()) return Fail(std::string(lease.status().message()));
    pqxx::work tx(**lease);
    tx.exec("INSERT INTO core_user (username, password, is_superuser, is_staff) VALUES ('admin', " +
            tx.quote(auth::HashPassword(password)) +
            ", TRUE, TRUE) ON CONFLICT (username) DO UPDATE SET password = EXCLUDED.password,"
            " is_active = TRUE, is_superuser = TRUE");
    tx.commit();
  } catch (const std::exception& e) {
    return Fail(absl::StrCat("Could not set the password: ", e.what()));
  }
  if (HasFlag(args, "--random")) {
    std::cout << "Successfully set \"admin\" user's password to \"" << password << "\"."
              << std::endl;
  } else {
    std::cout << "Successfully set password for \"admin\" user." << std::endl;
  }
  return 0;
}

int CollectStatic(AppContext& app, const std::vector<std::string>& args) {
  std::string source = PULP_ASSETS_SOURCE;
  if (const char* env = std::getenv("PULP_ASSETS_SOURCE")) source = env;
  if (auto flag = Flag(args, "--source")) source = *flag;
  namespace fs = std::filesystem;
  std::error_code ec;
  if (source.empty() || !fs::is_directory(source, ec)) {
    return Fail(absl::StrCat("No static assets at '", source,
                             "': build them with ./dev (npm packages redoc, swagger-ui-dist) or "
                             "point PULP_ASSETS_SOURCE at them."));
  }
  const fs::path dest = app.settings.static_root;
  if (HasFlag(args, "--clear")) fs::remove_all(dest, ec);
  fs::create_directories(dest, ec);
  if (ec)
    return Fail(absl::StrCat("Cannot create STATIC_ROOT ", dest.string(), ": ", ec.message()));
  // Each asset package goes to its own folder under STATIC_ROOT.
  const std::pair<const char*, const char*> kAssets[] = {
      {"redoc/bundles/redoc.standalone.js", "redoc/redoc.standalone.js"},
      {"swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"},
      {"swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"},
  };
  int copied = 0;
  for (const auto& [from, to] : kAssets) {
    const fs::path src = fs::path(source) / from;
    const fs::path dst = dest / to;
    fs::create_directories(dst.parent_path(), ec);
    fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) return Fail(absl::StrCat("Cannot copy ", src.string(), ": ", ec.message()));
    ++copied;
  }
  std::cout << copied << " static files copied to '" << dest.string() << "'." << std::endl;
  return 0;
}

int Check(AppContext& app) {
  std::cout << DumpJson(MaskSecrets(app.settings.effective)) << std::endl;
  if (auto st = app.pool->Ping(); !st.ok()) {
    std::cout << "WARNING: " << st.message() << std::endl;
    std::cout << "System check identified 1 issue." << std::endl;
    return 1;
  }
  std::cout << "System check identified no issues (0 silenced)." << std::endl;
  return 0;
}

int OpenApi(AppContext& app, const std::vector<std::string>& args) {
  http::Router router;
  RegisterAllRoutes(app, router);
  openapi::GeneratorOptions options;
  options.bindings = HasFlag(args, "--bindings");
  const Json doc = openapi::Generate(app, router, options);
  std::cout << DumpJson(doc) << std::endl;
  return 0;
}

}  // namespace

int RunApiServer(const std::vector<std::string>& args, PluginList plugins) {
  auto app = LoadApp(std::move(plugins), 16);
  if (!app.ok()) return Fail(std::string(app.status().message()), 2);
  int threads = (*app)->settings.api_threads;
  if (auto t = Flag(args, "--threads"); t && (!absl::SimpleAtoi(*t, &threads) || threads < 1)) {
    return Fail("--threads takes a positive number", 2);
  }
  return ServeApi(**app, Flag(args, "--bind").value_or("0.0.0.0:24817"), threads, args);
}

int RunContentApp(const std::vector<std::string>& args, PluginList plugins) {
  auto app = LoadApp(std::move(plugins), 16);
  if (!app.ok()) return Fail(std::string(app.status().message()), 2);
  auto addr = http::ParseBindAddress(Flag(args, "--bind").value_or("0.0.0.0:24816"));
  if (!addr.ok()) return Fail(std::string(addr.status().message()), 2);
  if (auto st = (*app)->pool->Ping(); !st.ok()) return Fail(std::string(st.message()));
  const sigset_t signals = BlockStopSignals();
  http::ServerOptions options;
  options.host = addr->first;
  options.port = addr->second;
  // Cached files are answered on the event loops (a few, sharded: measured fastest on 2 cores);
  // anything fetched from a remote runs on a blocking pool of its own.
  options.threads = 4;
  options.shard_connections = true;
  options.blocking_threads = 32;
  content::ContentApp content_app = content::MakeContentApp(**app);
  auto server = http::Server::Start(options, content_app.handler);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  rpc::Services services;
  services.invalidate_content = [invalidate = content_app.invalidate](
                                    const std::vector<std::string>&, const std::string& reason) {
    // One snapshot holds every distribution: dropping it all is as cheap as dropping a part.
    return invalidate();
  };
  auto rpc_server = StartRpc(args, std::move(services));
  if (!rpc_server.ok()) return Fail(std::string(rpc_server.status().message()));
  status::Heartbeat heartbeat(*(*app)->pool, "content", status::ProcessName(),
                              (*app)->AppVersions(), (*app)->settings.content_app_ttl,
                              (*rpc_server)->address());
  std::cout << "pulp-content listening on http://" << addr->first << ":" << (*server)->port()
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  (*rpc_server)->SetServing(false);
  (*server)->Stop();
  (*rpc_server)->Stop();
  heartbeat.Stop();
  return 0;
}

int RunResourceManagerProcess(const std::vector<std::string>& args, PluginList plugins) {
  auto app = LoadApp(std::move(plugins), 4);
  if (!app.ok()) return Fail(std::string(app.status().message()), 2);
  if ((*app)->settings.use_new_worker_style) {
    std::cerr << "pulp-resource-manager: USE_NEW_WORKER_STYLE is true (distributed tasking):"
                 " workers claim tasks themselves and no resource manager is needed. Set"
                 " PULP_USE_NEW_WORKER_STYLE=false for classic tasking."
              << std::endl;
    return 2;
  }
  auto pending = db::PendingMigrations(*(*app)->pool, (*app)->AllMigrations());
  if (!pending.ok()) return Fail(std::string(pending.status().message()));
  if (!pending->empty()) {
    return Fail("The database schema is behind this build: run `pulpcore-manager migrate` first.");
  }
  rpc::ResourceManagerOptions options;
  options.grpc_bind = Flag(args, "--grpc-bind").value_or("127.0.0.1:0");
  options.advertise_host = Flag(args, "--grpc-advertise-host").value_or("");
  options.exit_if_passive = HasFlag(args, "--exit-if-passive");
  if (auto bad = ReadMetricsBind(args, &options.metrics_host, &options.metrics_port)) {
    return Fail(*bad, 2);
  }
  return rpc::RunResourceManager(**app, options);
}

int RunWorkerProcess(const std::vector<std::string>& args, PluginList plugins) {
  auto app = LoadApp(std::move(plugins), 2);
  if (!app.ok()) return Fail(std::string(app.status().message()), 2);
  auto pending = db::PendingMigrations(*(*app)->pool, (*app)->AllMigrations());
  if (pending.ok() && !pending->empty()) {
    return Fail("The database schema is behind this build: run `pulpcore-manager migrate` first.");
  }
  // Task processes announce content changes (gRPC starts in them, after their fork).
  WireTierSignals(**app);
  tasking::WorkerOptions options;
  // Started by the worker after it forked its task launcher, so gRPC threads never get forked.
  options.start_rpc = [args](tasking::WorkerControl& control) {
    rpc::Services services;
    services.cancel_task = [&control](const std::string& task_id) {
      return control.Cancel(task_id);
    };
    auto server = StartRpc(args, std::move(services));
    if (!server.ok()) {
      std::cerr << server.status().message() << std::endl;
      return tasking::WorkerOptions::Rpc{};
    }
    std::shared_ptr<rpc::Server> keep(std::move(*server));
    return tasking::WorkerOptions::Rpc{keep->address(), keep};
  };
  if (!(*app)->settings.use_new_worker_style) {
    options.connect_manager = [conn = (*app)->settings.database.ConnectionString()](
                                  const std::string& id, const std::string& name,
                                  std::function<void()> wake) {
      return rpc::ConnectToResourceManager(conn, id, name, std::move(wake));
    };
  }
  if (auto bad = ReadMetricsBind(args, &options.metrics_host, &options.metrics_port)) {
    return Fail(*bad, 2);
  }
  return tasking::RunWorker(**app, options);
}

int RunManager(const std::vector<std::string>& args, PluginList plugins) {
  const std::string usage =
      "usage: pulpcore-manager {migrate [--plan] | showmigrations | check | "
      "reset-admin-password [--password X | --random] | collectstatic [--clear] | "
      "openapi [--bindings] | runserver [ADDR:]PORT}";
  if (args.empty()) return Fail(usage, 2);
  auto app = LoadApp(std::move(plugins), 4);
  if (!app.ok()) return Fail(std::string(app.status().message()), 2);
  const std::string& cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "migrate") return Migrate(**app, rest);
  if (cmd == "showmigrations") return ShowMigrations(**app);
  if (cmd == "check") return Check(**app);
  if (cmd == "reset-admin-password") return ResetAdminPassword(**app, rest);
  if (cmd == "collectstatic") return CollectStatic(**app, rest);
  if (cmd == "openapi") return OpenApi(**app, rest);
  if (cmd == "runserver") {
    std::string bind = rest.empty() ? "127.0.0.1:8000" : rest[0];
    if (bind.find(':') == std::string::npos) bind = "127.0.0.1:" + bind;
    return ServeApi(**app, bind, (*app)->settings.api_threads, {});
  }
  return Fail(absl::StrCat("Unknown command: '", cmd, "'\n", usage), 2);
}

}  // namespace pulp::core
