// pulp-content: the content serving tier.
#include "services/core/server_main.h"
#include "services/plugins/file/plugin.h"

int main(int argc, char** argv) {
  pulp::core::PluginList plugins;
  plugins.push_back(pulp::core::MakeCorePlugin());
  plugins.push_back(pulp::plugins::file::MakeFilePlugin());
  return pulp::core::RunContentApp({argv + 1, argv + argc}, std::move(plugins));
}
