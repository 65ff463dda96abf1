#include "services/plugins/file/plugin.h"

#include "services/core/app_context.h"
#include "services/core/endpoints/publications.h"
#include "services/core/endpoints/remotes.h"
#include "services/core/endpoints/repositories.h"
#include "services/plugins/file/content.h"
#include "services/plugins/file/publication.h"
#include "services/plugins/file/repository.h"
#include "services/plugins/file/sync.h"

namespace pulp::plugins::file {
std::vector<std::pair<std::string, std::string>> FileMigrationFiles();  // generated

namespace {

class FilePlugin : public core::Plugin {
 public:
  core::ComponentVersion Version() const override {
    return {"file", core::kPulpVersion, "pulpcore", "pulp_file.app"};
  }
  std::vector<core::db::Migration> Migrations() const override {
    std::vector<core::db::Migration> out;
    for (auto& [name, sql] : FileMigrationFiles()) out.push_back({"file", name, sql});
    return out;
  }
  void RegisterTypes(core::AppContext& app) const override {
    RegisterContentType(app);
    app.repository_types["file.file"] =
        std::make_shared<core::models::RepositoryType>(FileRepositoryType(app));
    app.remote_types["file.file"] = std::make_shared<core::models::RemoteType>(FileRemoteType(app));
    app.publication_types["file.file"] =
        std::make_shared<core::models::PublicationType>(FilePublicationType(app));
    app.distribution_types["file.file"] =
        std::make_shared<core::models::DistributionType>(FileDistributionType(app));
  }
  void RegisterRoutes(core::AppContext& app, core::http::Router& router) const override {
    RegisterContentRoutes(app, router);
    core::endpoints::RegisterRepositoryRoutes(app, router, *app.repository_types.at("file.file"));
    core::endpoints::RegisterRemoteRoutes(app, router, *app.remote_types.at("file.file"));
    RegisterSyncRoute(app, router);
    core::endpoints::RegisterPublicationRoutes(app, router, *app.publication_types.at("file.file"));
    core::endpoints::RegisterDistributionRoutes(app, router,
                                                *app.distribution_types.at("file.file"));
  }
  void RegisterTasks(core::AppContext&, core::tasking::TaskRegistry& registry) const override {
    RegisterContentTasks(registry);
    RegisterPublishTask(registry);
    RegisterSyncTask(registry);
  }
};

}  // namespace

std::unique_ptr<core::Plugin> MakeFilePlugin() { return std::make_unique<FilePlugin>(); }

}  // namespace pulp::plugins::file
