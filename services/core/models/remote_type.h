#pragma once

#include <string>

namespace pulp::core::models {

// A remote type a plugin declares (upstream's typed Remote model); core serves its endpoints
// and runs its update/delete tasks. All remote types share core_remote.
struct RemoteType {
  std::string pulp_type;    // "file.file"
  std::string component;    // "file"
  std::string href_prefix;  // "/pulp/api/v3/remotes/file/file/"
  std::string prn_type;     // "file.fileremote"
  std::string id_prefix;    // "remotes_file_file"
  std::string href_param;   // "file_file_remote_href"
  std::string tag;          // "Remotes: File"
  std::string serializer;   // "FileRemoteSerializer"
  std::string schema;       // "file.FileRemote"
};

}  // namespace pulp::core::models
