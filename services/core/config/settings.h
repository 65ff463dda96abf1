#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/util/json.h"

namespace pulp::core {

struct DatabaseSettings {
  std::string name = "pulp";
  std::string user = "pulp";
  std::string password;
  std::string host = "localhost";
  int port = 5432;

  // libpq keyword/value connection string, values quoted.
  std::string ConnectionString() const;
};

// Effective settings of a process: upstream's names and defaults, read from a settings.yaml
// (path in PULP_SETTINGS) and overridden by PULP_<NAME> environment variables, where
// PULP_DATABASES__default__HOST addresses a nested key.
struct Settings {
  std::string api_root = "/pulp/";
  std::string content_origin;  // empty = None
  std::string content_path_prefix = "/pulp/content/";
  std::string media_root = "/var/lib/pulp/media";
  std::string working_directory = "/var/lib/pulp/tmp";
  std::string static_root = "/var/lib/pulp/assets";
  std::string static_url = "/assets/";
  std::string chunked_upload_dir = "upload";
  std::vector<std::string> allowed_content_checksums = {"sha224", "sha256", "sha384", "sha512"};
  int worker_ttl = 30;
  int content_app_ttl = 30;
  int api_app_ttl = 120;
  int orphan_protection_time = 1440;
  int task_grace_interval = 600;
  bool use_new_worker_style = true;
  int api_threads = 8;               // ours: request threads per API process
  bool task_test_endpoints = false;  // ours: POST tasks/test/ for tests and benchmarks
  DatabaseSettings database;
  std::string secret_key;
  // Mutual TLS for the internal gRPC links: every process presents `cert_file`/`key_file` and
  // trusts peers signed by `ca_file` (PEM paths). All empty: plaintext (loopback default).
  struct GrpcTls {
    std::string cert_file, key_file, ca_file;
    bool enabled() const { return !cert_file.empty(); }
  } grpc_tls;

  // Every setting with its effective value, for `pulpcore-manager check`.
  Json effective;

  std::string ApiV3Root() const { return api_root + "api/v3/"; }
  bool ChecksumAllowed(const std::string& algorithm) const;

  // Loads defaults, the YAML file and the environment; a bad value is an InvalidArgument
  // status whose message names the setting.
  static absl::StatusOr<Settings> Load(const std::map<std::string, std::string>& environment);
  static absl::StatusOr<Settings> LoadFromProcessEnvironment();
};

// The effective values with secrets replaced by "********".
Json MaskSecrets(const Json& effective);

}  // namespace pulp::core
