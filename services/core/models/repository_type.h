#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "services/core/http/validation.h"
#include "services/core/util/json.h"

namespace pqxx {
class transaction_base;
}

namespace pulp::core {
struct AppContext;
}

namespace pulp::core::models {

// Resources a step created, as tasks report them: (href, prn).
using CreatedResources = std::vector<std::pair<std::string, std::string>>;

// A column of a plugin's repository detail table (file_filerepository.autopublish ...).
struct DetailField {
  http::Field field;  // name, kind, nullability as the serializer validates it
  Json default_value;
  Json schema;             // OpenAPI property
  bool read_only = false;  // shown, never written by a client (last_sync_details)
};

// A repository type a plugin declares (upstream's typed Repository model): core serves its
// endpoints (CRUD, versions, modify, labels) and runs its tasks.
struct RepositoryType {
  std::string pulp_type;           // "file.file"
  std::string component;           // "file"
  std::string href_prefix;         // "/pulp/api/v3/repositories/file/file/"
  std::string prn_type;            // "file.filerepository"
  std::string id_prefix;           // "repositories_file_file"
  std::string href_param;          // "file_file_repository_href"
  std::string version_href_param;  // "file_file_repository_version_href"
  std::string tag;                 // "Repositories: File"
  std::string serializer;          // "FileRepositorySerializer": generic task argument
  std::string schema;              // "file.FileRepository": OpenAPI component stem
  std::string detail_table;        // "file_filerepository" (key column repository_ptr_id)
  std::vector<DetailField> detail_fields;
  std::vector<std::string> content_types;  // pulp_types it may hold
  std::vector<std::string> remote_types;   // pulp_types of remotes it may sync from
  // Upstream's on_new_version: runs in the transaction that created version `number`, after
  // retention (the file plugin autopublishes here). Returns what it created.
  std::function<CreatedResources(AppContext&, pqxx::transaction_base&,
                                 const std::string& repository_pk, int number)>
      on_new_version;
};

}  // namespace pulp::core::models
