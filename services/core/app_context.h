#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/config/settings.h"
#include "services/core/db/migrate.h"
#include "services/core/util/json.h"

namespace pulp::core {

class Plugin;
namespace db {
class Pool;
}
namespace storage {
class ArtifactStore;
}
namespace tasking {
class TaskRegistry;
class Dispatcher;
}  // namespace tasking
namespace models {
struct RepositoryType;
struct RemoteType;
struct PublicationType;
struct DistributionType;
}  // namespace models

// A content type a plugin contributes ("file.file"), as core's generic views need it.
struct ContentType {
  std::string pulp_type;    // "file.file"
  std::string href_prefix;  // "/pulp/api/v3/content/file/files/"
  std::string prn_type;     // "file.filecontent"
  // How units of this type are keyed inside one repository version (upstream's
  // repo_key_fields): adding a unit replaces the one with the same key. Empty: no key.
  std::string key_table;   // "file_filecontent"
  std::string key_column;  // "relative_path"
  std::string key_fk;      // "content_ptr_id"
};

// The services one process shares among its handlers and tasks. Built once at start.
struct AppContext {
  Settings settings;
  std::unique_ptr<db::Pool> pool;
  std::unique_ptr<storage::ArtifactStore> store;
  std::unique_ptr<tasking::TaskRegistry> task_registry;
  std::unique_ptr<tasking::Dispatcher> dispatcher;
  std::vector<std::unique_ptr<Plugin>> plugins;
  // OpenAPI component schemas ("Artifact", "ArtifactResponse", ...), filled by plugins.
  std::map<std::string, Json> schemas;
  // Content types by pulp_type, declared by plugins (Plugin::RegisterTypes).
  std::map<std::string, ContentType> content_types;
  // Repository types by pulp_type ("file.file").
  std::map<std::string, std::shared_ptr<const models::RepositoryType>> repository_types;
  // Remote types by pulp_type.
  std::map<std::string, std::shared_ptr<const models::RemoteType>> remote_types;
  std::map<std::string, std::shared_ptr<const models::PublicationType>> publication_types;
  std::map<std::string, std::shared_ptr<const models::DistributionType>> distribution_types;
  std::string default_domain_id;

  AppContext();
  ~AppContext();

  // Connects the pool, creates storage and the task machinery, registers plugin tasks.
  static absl::StatusOr<std::unique_ptr<AppContext>> Create(
      Settings settings, std::vector<std::unique_ptr<Plugin>> plugins, size_t pool_size);

  // {"core": "3.117.0", "file": "3.117.0"}: x-pulp-app-versions and heartbeat versions.
  Json AppVersions() const;
  // Every plugin's migrations in application order.
  std::vector<db::Migration> AllMigrations() const;
  std::string ApiV3() const { return settings.ApiV3Root(); }
  std::string DomainPrn() const { return "prn:core.domain:" + default_domain_id; }

  // Called after a committed change to what distributions serve (a distribution, a
  // publication, a version that had publications): the process wires it to tell the content
  // apps (gRPC); unset, it does nothing.
  std::function<void(const std::string& reason)> served_content_changed;
  void ServedContentChanged(const std::string& reason) {
    if (served_content_changed) served_content_changed(reason);
  }

  // Classic tasking: tells the active resource manager the queue changed (a task recorded or
  // canceled, an immediate task done). Unset in distributed mode, where workers claim.
  std::function<void(const std::string& task_id)> task_queue_changed;
  void TaskQueueChanged(const std::string& task_id) {
    if (task_queue_changed) task_queue_changed(task_id);
  }
  // Delivers a cancel to the worker running a task (its gRPC address); true when it killed it.
  std::function<bool(const std::string& address, const std::string& task_id)> cancel_on_worker;
};

}  // namespace pulp::core
