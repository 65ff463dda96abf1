#pragma once

#include <string>

namespace pulp::core::models {

// A publication type a plugin declares; core serves its endpoints, the plugin's `publish_task`
// (kwargs repository_version_pk, manifest) builds its files.
struct PublicationType {
  std::string pulp_type;        // "file.file"
  std::string component;        // "file"
  std::string href_prefix;      // "/pulp/api/v3/publications/file/file/"
  std::string prn_type;         // "file.filepublication"
  std::string id_prefix;        // "publications_file_file"
  std::string href_param;       // "file_file_publication_href"
  std::string tag;              // "Publications: File"
  std::string schema;           // "file.FilePublication"
  std::string publish_task;     // "pulp_file.app.tasks.publishing.publish"
  std::string repository_type;  // pulp_type of the repositories it publishes
};

// A distribution type: where a base path under CONTENT_PATH_PREFIX serves a publication (or the
// latest publication of a repository or repository version).
struct DistributionType {
  std::string pulp_type;         // "file.file"
  std::string component;         // "file"
  std::string href_prefix;       // "/pulp/api/v3/distributions/file/file/"
  std::string prn_type;          // "file.filedistribution"
  std::string id_prefix;         // "distributions_file_file"
  std::string href_param;        // "file_file_distribution_href"
  std::string tag;               // "Distributions: File"
  std::string serializer;        // "FileDistributionSerializer"
  std::string schema;            // "file.FileDistribution"
  std::string publication_type;  // pulp_type of the publications it serves
};

}  // namespace pulp::core::models
