#include "services/core/app_context.h"
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
  void RegisterTasks(tasking::TaskRegistry& registry) const override {
    endpoints::RegisterUploadTask(registry);
    endpoints::RegisterTaskFunctions(registry);
    endpoints::RegisterOrphanTask(registry);
    // general_create(app_label, serializer_name, data=..., context=...) runs whatever the
    // owning plugin registered for that serializer.
    const tasking::TaskRegistry* reg = &registry;
    registry.Register(tasking::kGeneralCreate, [reg](tasking::TaskContext& ctx, const Json& args,
                                                     const Json& kwargs) {
      if (!args.is_array() || args.size() < 2 || !args[0].is_string() || !args[1].is_string()) {
        throw std::runtime_error("general_create: expected (app_label, serializer_name)");
      }
      const tasking::TaskFunction* fn =
          reg->FindSerializerTask(tasking::kGeneralCreate, args[0], args[1]);
      if (fn == nullptr) {
        throw std::runtime_error("general_create: unknown serializer " +
                                 args[0].get<std::string>() + "." + args[1].get<std::string>());
      }
      return (*fn)(ctx, args, kwargs);
    });
  }
};

}  // namespace

std::unique_ptr<Plugin> MakeCorePlugin() { return std::make_unique<CorePlugin>(); }

void RegisterAllRoutes(AppContext& app, http::Router& router) {
  for (const auto& p : app.plugins) p->RegisterRoutes(app, router);
  endpoints::RegisterContentRoutes(app, router);
}

}  // namespace pulp::core
