#include "services/core/app_context.h"
#include "services/core/endpoints/publications.h"
#include "services/core/endpoints/remotes.h"
#include "services/core/endpoints/repositories.h"
#include "services/core/endpoints/routes.h"
#include "services/core/endpoints/tasks.h"
#include "services/core/endpoints/uploads.h"
#include "services/core/plugin.h"
#include "services/core/tasking/dispatcher.h"

#include <stdexcept>

namespace pulp::core {
std::vector<std::pair<std::string, std::string>> CoreMigrationFiles();  // generated

namespace {

class CorePlugin : public Plugin {
 public:
  ComponentVersion Version() const override {
    return {"core", kPulpVersion, "pulpcore", "pulpcore.app"};
  }
  std::vector<db::Migration> Migrations() const override {
    std::vector<db::Migration> out;
    for (auto& [name, sql] : CoreMigrationFiles()) out.push_back({"core", name, sql});
    return out;
  }
  void RegisterRoutes(AppContext& app, http::Router& router) const override {
    endpoints::RegisterRootRoutes(app, router);
    endpoints::RegisterArtifactRoutes(app, router);
    endpoints::RegisterUploadRoutes(app, router);
    endpoints::RegisterTaskRoutes(app, router);
    endpoints::RegisterTaskGroupRoutes(app, router);
    endpoints::RegisterWorkerRoutes(app, router);
    endpoints::RegisterOrphanRoutes(app, router);
  }
  void RegisterTasks(AppContext& app, tasking::TaskRegistry& registry) const override {
    endpoints::RegisterRepositoryTasks(app, registry);
    endpoints::RegisterRemoteTasks(app, registry);
    endpoints::RegisterDistributionTasks(app, registry);
    endpoints::RegisterUploadTask(registry);
    endpoints::RegisterTaskFunctions(registry);
    endpoints::RegisterOrphanTask(registry);
    // Upstream's generic tasks name a serializer: general_create(app_label, serializer, ...),
    // ageneral_update/ageneral_delete(pk, app_label, serializer, ...). Each runs whatever the
    // owning plugin registered for that serializer.
    const tasking::TaskRegistry* reg = &registry;
    for (const auto& [name, label_index] :
         {std::pair{tasking::kGeneralCreate, 0}, std::pair{tasking::kGeneralUpdate, 1},
          std::pair{tasking::kGeneralDelete, 1}}) {
      const std::string task_name = name;
      const size_t i = static_cast<size_t>(label_index);
      registry.Register(task_name, [reg, task_name, i](tasking::TaskContext& ctx, const Json& args,
                                                       const Json& kwargs) {
        if (!args.is_array() || args.size() < i + 2 || !args[i].is_string() ||
            !args[i + 1].is_string()) {
          throw std::runtime_error(task_name + ": arguments name no serializer");
        }
        const tasking::TaskFunction* fn = reg->FindSerializerTask(task_name, args[i], args[i + 1]);
        if (fn == nullptr) {
          throw std::runtime_error(task_name + ": unknown serializer " +
                                   args[i].get<std::string>() + "." +
                                   args[i + 1].get<std::string>());
        }
        return (*fn)(ctx, args, kwargs);
      });
    }
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeCorePlugin() { return std::make_unique<CorePlugin>(); }

void RegisterAllRoutes(AppContext& app, http::Router& router) {
  for (const auto& p : app.plugins) p->RegisterRoutes(app, router);
  endpoints::RegisterContentRoutes(app, router);
  endpoints::RegisterGenericRepositoryRoutes(app, router);
}

}  // namespace pulp::core
