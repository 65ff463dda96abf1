// pulp-resource-manager: routes tasks to workers in classic tasking (USE_NEW_WORKER_STYLE=False).
#include "services/core/server_main.h"
#include "services/plugins/file/plugin.h"

int main(int argc, char** argv) {
  pulp::core::PluginList plugins;
  plugins.push_back(pulp::core::MakeCorePlugin());
  plugins.push_back(pulp::plugins::file::MakeFilePlugin());
  return pulp::core::RunResourceManagerProcess({argv + 1, argv + argc}, std::move(plugins));
}
