#include "services/core/app_context.h"

#include <filesystem>

#include "services/core/db/pool.h"
#include "services/core/models/repository_type.h"
#include "services/core/plugin.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::core {

AppContext::AppContext() = default;
AppContext::~AppContext() = default;

absl::StatusOr<std::unique_ptr<AppContext>> AppContext::Create(
    Settings settings, std::vector<std::unique_ptr<Plugin>> plugins, size_t pool_size) {
  auto app = std::make_unique<AppContext>();
  app->settings = std::move(settings);
  app->plugins = std::move(plugins);
  app->pool = std::make_unique<db::Pool>(app->settings.database.ConnectionString(), pool_size);
  app->store = std::make_unique<storage::ArtifactStore>(app->settings.media_root,
                                                        app->settings.allowed_content_checksums);
  app->task_registry = std::make_unique<tasking::TaskRegistry>();
  for (const auto& p : app->plugins) p->RegisterTypes(*app);
  for (const auto& p : app->plugins) p->RegisterTasks(*app, *app->task_registry);
  app->dispatcher = std::make_unique<tasking::Dispatcher>(*app);
  // Upstream's single default domain; its id is fixed by the first migration.
  app->default_domain_id = "018f0000-0000-7000-8000-000000000001";
  return app;
}

Json AppContext::AppVersions() const {
  Json v = Json::object();
  for (const auto& p : plugins) v[p->Version().component] = p->Version().version;
  return v;
}

std::vector<db::Migration> AppContext::AllMigrations() const {
  std::vector<db::Migration> all;
  for (const auto& p : plugins) {
    for (auto& m : p->Migrations()) all.push_back(std::move(m));
  }
  return all;
}

}  // namespace pulp::core
