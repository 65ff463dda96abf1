#include "services/core/config/settings.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace pulp::core {
namespace {

const std::vector<std::string> kKnownChecksums = {"md5",    "sha1",   "sha224",
                                                  "sha256", "sha384", "sha512"};

Json Defaults() {
  Json d;
  d["API_ROOT"] = "/pulp/";
  d["CONTENT_ORIGIN"] = nullptr;
  d["CONTENT_PATH_PREFIX"] = "/pulp/content/";
  d["DEPLOY_ROOT"] = "/var/lib/pulp";
  d["MEDIA_ROOT"] = "/var/lib/pulp/media";
  d["WORKING_DIRECTORY"] = "/var/lib/pulp/tmp";
  d["STATIC_ROOT"] = "/var/lib/pulp/assets";
  d["STATIC_URL"] = "/assets/";
  d["CHUNKED_UPLOAD_DIR"] = "upload";
  d["ALLOWED_CONTENT_CHECKSUMS"] = {"sha224", "sha256", "sha384", "sha512"};
  d["WORKER_TTL"] = 30;
  d["CONTENT_APP_TTL"] = 30;
  d["API_APP_TTL"] = 120;
  d["ORPHAN_PROTECTION_TIME"] = 1440;
  d["TASK_GRACE_INTERVAL"] = 600;
  d["USE_NEW_WORKER_STYLE"] = true;
  d["DOMAIN_ENABLED"] = false;
  d["API_THREADS"] = 8;
  d["TASK_TEST_ENDPOINTS"] = false;
  d["SECRET_KEY"] = nullptr;
  // Ours: TLS for the internal gRPC links (PEM files). Off when unset.
  d["GRPC_TLS_CERT"] = nullptr;
  d["GRPC_TLS_KEY"] = nullptr;
  d["GRPC_TLS_CA"] = nullptr;
  d["DATABASES"]["default"] = {{"ENGINE", "django.db.backends.postgresql"},
                               {"NAME", "pulp"},
                               {"USER", "pulp"},
                               {"PASSWORD", ""},
                               {"HOST", "localhost"},
                               {"PORT", 5432}};
  return d;
}

Json YamlToJson(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      Json o = Json::object();
      for (const auto& kv : n) o[kv.first.as<std::string>()] = YamlToJson(kv.second);
      return o;
    }
    case YAML::NodeType::Sequence: {
      Json a = Json::array();
      for (const auto& v : n) a.push_back(YamlToJson(v));
      return a;
    }
    case YAML::NodeType::Scalar: {
      if (n.Tag() == "!") return n.as<std::string>();  // quoted in the file: a string
      const std::string s = n.as<std::string>();
      const std::string l = absl::AsciiStrToLower(s);
      if (l == "true" || l == "yes") return true;
      if (l == "false" || l == "no") return false;
      if (l == "null" || l == "~" || l == "none") return nullptr;
      Json parsed = Json::parse(s, nullptr, false);
      if (!parsed.is_discarded() && parsed.is_number()) return parsed;
      return s;
    }
    default:
      return nullptr;
  }
}

// Environment values follow dynaconf's habits: true/false in any case, numbers, JSON or
// TOML-ish lists and tables, `@json {...}`, `@none`; anything else is a plain string.
Json ParseEnvValue(const std::string& raw) {
  std::string v(absl::StripAsciiWhitespace(raw));
  if (absl::StartsWith(v, "@json ")) {
    Json j = Json::parse(v.substr(6), nullptr, false);
    return j.is_discarded() ? Json(raw) : j;
  }
  if (v == "@none") return nullptr;
  const std::string l = absl::AsciiStrToLower(v);
  if (l == "true") return true;
  if (l == "false") return false;
  Json j = Json::parse(v, nullptr, false);
  if (!j.is_discarded()) return j;
  if (!v.empty() && (v.front() == '[' || v.front() == '{')) {
    std::string swapped = v;
    std::replace(swapped.begin(), swapped.end(), '\'', '"');
    j = Json::parse(swapped, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return raw;
}

// Finds `key` in an object case-insensitively, so PULP_DATABASES__DEFAULT__HOST and
// PULP_DATABASES__default__HOST both land on the one entry.
std::string MatchKey(const Json& obj, const std::string& key) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (absl::EqualsIgnoreCase(it.key(), key)) return it.key();
  }
  return key;
}

void MergeInto(Json& dst, const Json& src) {
  for (auto it = src.begin(); it != src.end(); ++it) {
    const std::string k = dst.is_object() ? MatchKey(dst, it.key()) : it.key();
    if (it.value().is_object() && dst.contains(k) && dst[k].is_object()) {
      MergeInto(dst[k], it.value());
    } else {
      dst[k] = it.value();
    }
  }
}

absl::Status Invalid(absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("Invalid setting ", name, ": ", why));
}

absl::StatusOr<std::string> GetString(const Json& s, const char* name, bool nullable) {
  const Json& v = s[name];
  if (v.is_null() && nullable) return std::string();
  if (!v.is_string()) return Invalid(name, "must be a string");
  return v.get<std::string>();
}

absl::StatusOr<int> GetInt(const Json& s, const char* name, int min) {
  const Json& v = s[name];
  long long n;
  if (v.is_number_integer()) {
    n = v.get<long long>();
  } else if (v.is_string() && absl::SimpleAtoi(v.get<std::string>(), &n)) {
  } else {
    return Invalid(name, "must be an integer");
  }
  if (n < min || n > 1'000'000'000) return Invalid(name, absl::StrCat("must be at least ", min));
  return static_cast<int>(n);
}

absl::StatusOr<bool> GetBool(const Json& s, const char* name) {
  const Json& v = s[name];
  if (!v.is_boolean()) return Invalid(name, "must be true or false");
  return v.get<bool>();
}

absl::Status CheckUrlPath(const std::string& v, const char* name) {
  if (v.empty() || v.front() != '/' || v.back() != '/') {
    return Invalid(name, "must start and end with '/'");
  }
  return absl::OkStatus();
}

absl::Status CheckAbsolutePath(const std::string& v, const char* name) {
  if (v.empty() || v.front() != '/') return Invalid(name, "must be an absolute path");
  return absl::OkStatus();
}

#define ASSIGN_OR_RETURN_SETTING(lhs, expr) \
  {                                         \
    auto _v = (expr);                       \
    if (!_v.ok()) return _v.status();       \
    lhs = *std::move(_v);                   \
  }

absl::StatusOr<Settings> FromJson(Json s) {
  Settings out;
  ASSIGN_OR_RETURN_SETTING(out.api_root, GetString(s, "API_ROOT", false));
  if (auto st = CheckUrlPath(out.api_root, "API_ROOT"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.content_origin, GetString(s, "CONTENT_ORIGIN", true));
  if (!out.content_origin.empty() && !absl::StartsWith(out.content_origin, "http://") &&
      !absl::StartsWith(out.content_origin, "https://")) {
    return Invalid("CONTENT_ORIGIN", "must be an http:// or https:// URL");
  }
  ASSIGN_OR_RETURN_SETTING(out.content_path_prefix, GetString(s, "CONTENT_PATH_PREFIX", false));
  if (auto st = CheckUrlPath(out.content_path_prefix, "CONTENT_PATH_PREFIX"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.media_root, GetString(s, "MEDIA_ROOT", false));
  if (auto st = CheckAbsolutePath(out.media_root, "MEDIA_ROOT"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.working_directory, GetString(s, "WORKING_DIRECTORY", false));
  if (auto st = CheckAbsolutePath(out.working_directory, "WORKING_DIRECTORY"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.static_root, GetString(s, "STATIC_ROOT", false));
  if (auto st = CheckAbsolutePath(out.static_root, "STATIC_ROOT"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.static_url, GetString(s, "STATIC_URL", false));
  if (auto st = CheckUrlPath(out.static_url, "STATIC_URL"); !st.ok()) return st;
  ASSIGN_OR_RETURN_SETTING(out.chunked_upload_dir, GetString(s, "CHUNKED_UPLOAD_DIR", false));
  if (out.chunked_upload_dir.empty() || absl::StrContains(out.chunked_upload_dir, "..") ||
      out.chunked_upload_dir.front() == '/') {
    return Invalid("CHUNKED_UPLOAD_DIR", "must be a relative folder name");
  }

  const Json& checksums = s["ALLOWED_CONTENT_CHECKSUMS"];
  if (!checksums.is_array()) return Invalid("ALLOWED_CONTENT_CHECKSUMS", "must be a list");
  out.allowed_content_checksums.clear();
  for (const Json& c : checksums) {
    if (!c.is_string() || std::find(kKnownChecksums.begin(), kKnownChecksums.end(),
                                    c.get<std::string>()) == kKnownChecksums.end()) {
      return Invalid("ALLOWED_CONTENT_CHECKSUMS",
                     absl::StrCat("unknown checksum ", c.dump(),
                                  "; known: md5, sha1, sha224, sha256, sha384, sha512"));
    }
    out.allowed_content_checksums.push_back(c.get<std::string>());
  }
  if (!out.ChecksumAllowed("sha256")) {
    return Invalid("ALLOWED_CONTENT_CHECKSUMS", "must contain sha256");
  }

  ASSIGN_OR_RETURN_SETTING(out.worker_ttl, GetInt(s, "WORKER_TTL", 1));
  ASSIGN_OR_RETURN_SETTING(out.content_app_ttl, GetInt(s, "CONTENT_APP_TTL", 1));
  ASSIGN_OR_RETURN_SETTING(out.api_app_ttl, GetInt(s, "API_APP_TTL", 1));
  ASSIGN_OR_RETURN_SETTING(out.orphan_protection_time, GetInt(s, "ORPHAN_PROTECTION_TIME", 0));
  ASSIGN_OR_RETURN_SETTING(out.task_grace_interval, GetInt(s, "TASK_GRACE_INTERVAL", 0));
  ASSIGN_OR_RETURN_SETTING(out.use_new_worker_style, GetBool(s, "USE_NEW_WORKER_STYLE"));
  ASSIGN_OR_RETURN_SETTING(out.api_threads, GetInt(s, "API_THREADS", 1));
  ASSIGN_OR_RETURN_SETTING(out.task_test_endpoints, GetBool(s, "TASK_TEST_ENDPOINTS"));
  bool domains;
  ASSIGN_OR_RETURN_SETTING(domains, GetBool(s, "DOMAIN_ENABLED"));
  if (domains) return Invalid("DOMAIN_ENABLED", "domains are not supported yet; set it to false");
  ASSIGN_OR_RETURN_SETTING(out.secret_key, GetString(s, "SECRET_KEY", true));
  ASSIGN_OR_RETURN_SETTING(out.grpc_tls.cert_file, GetString(s, "GRPC_TLS_CERT", true));
  ASSIGN_OR_RETURN_SETTING(out.grpc_tls.key_file, GetString(s, "GRPC_TLS_KEY", true));
  ASSIGN_OR_RETURN_SETTING(out.grpc_tls.ca_file, GetString(s, "GRPC_TLS_CA", true));
  if (out.grpc_tls.cert_file.empty() != out.grpc_tls.key_file.empty() ||
      out.grpc_tls.cert_file.empty() != out.grpc_tls.ca_file.empty()) {
    return Invalid(
        "GRPC_TLS_CERT",
        "GRPC_TLS_CERT, GRPC_TLS_KEY and GRPC_TLS_CA go together: set all three or none");
  }

  const Json& dbs = s["DATABASES"];
  if (!dbs.is_object() || !dbs.contains("default") || !dbs["default"].is_object()) {
    return Invalid("DATABASES", "must hold a 'default' database");
  }
  const Json& db = dbs["default"];
  auto db_string = [&](const char* key, std::string* dst) -> absl::Status {
    const std::string k = MatchKey(db, key);
    if (!db.contains(k) || db[k].is_null()) return absl::OkStatus();
    if (!db[k].is_string())
      return Invalid(absl::StrCat("DATABASES.default.", key), "must be a string");
    *dst = db[k].get<std::string>();
    return absl::OkStatus();
  };
  for (auto [key, dst] : {std::pair{"NAME", &out.database.name},
                          {"USER", &out.database.user},
                          {"PASSWORD", &out.database.password},
                          {"HOST", &out.database.host}}) {
    if (auto st = db_string(key, dst); !st.ok()) return st;
  }
  if (const std::string k = MatchKey(db, "PORT"); db.contains(k) && !db[k].is_null()) {
    long long port = 0;
    if (db[k].is_number_integer()) {
      port = db[k].get<long long>();
    } else if (!db[k].is_string() || !absl::SimpleAtoi(db[k].get<std::string>(), &port)) {
      port = -1;
    }
    if (port <= 0 || port > 65535)
      return Invalid("DATABASES.default.PORT", "must be a port number");
    out.database.port = static_cast<int>(port);
  }
  out.effective = std::move(s);
  return out;
}

std::string QuoteConnValue(const std::string& v) {
  std::string q = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') q.push_back('\\');
    q.push_back(c);
  }
  q.push_back('\'');
  return q;
}

bool IsSecretKey(const std::string& key) {
  const std::string u = absl::AsciiStrToUpper(key);
  return absl::StrContains(u, "PASSWORD") || absl::StrContains(u, "SECRET") ||
         absl::StrContains(u, "TOKEN") || u == "CLIENT_KEY";
}

}  // namespace

std::string DatabaseSettings::ConnectionString() const {
  return absl::StrCat("host=", QuoteConnValue(host), " port=", port,
                      " dbname=", QuoteConnValue(name), " user=", QuoteConnValue(user),
                      password.empty() ? "" : absl::StrCat(" password=", QuoteConnValue(password)),
                      " connect_timeout=5 application_name='pulp'");
}

bool Settings::ChecksumAllowed(const std::string& algorithm) const {
  return std::find(allowed_content_checksums.begin(), allowed_content_checksums.end(), algorithm) !=
         allowed_content_checksums.end();
}

absl::StatusOr<Settings> Settings::Load(const std::map<std::string, std::string>& env) {
  Json s = Defaults();
  std::string path;
  if (auto it = env.find("PULP_SETTINGS"); it != env.end()) {
    path = it->second;
    if (!std::filesystem::exists(path)) {
      return Invalid("PULP_SETTINGS", absl::StrCat("file not found: ", path));
    }
  } else if (std::filesystem::exists("/etc/pulp/settings.yaml")) {
    path = "/etc/pulp/settings.yaml";
  }
  if (!path.empty()) {
    try {
      YAML::Node root = YAML::LoadFile(path);
      if (root.IsDefined() && !root.IsNull()) {
        if (!root.IsMap()) return Invalid("PULP_SETTINGS", absl::StrCat(path, " is not a mapping"));
        Json file = YamlToJson(root);
        Json upper = Json::object();
        for (auto it = file.begin(); it != file.end(); ++it) {
          upper[absl::AsciiStrToUpper(it.key())] = it.value();
        }
        MergeInto(s, upper);
      }
    } catch (const YAML::Exception& e) {
      return Invalid("PULP_SETTINGS", absl::StrCat(path, ": ", e.what()));
    }
  }
  for (const auto& [name, value] : env) {
    if (!absl::StartsWith(name, "PULP_") || name == "PULP_SETTINGS") continue;
    std::vector<std::string> parts = absl::StrSplit(name.substr(5), "__");
    if (parts.empty() || parts[0].empty()) continue;
    parts[0] = absl::AsciiStrToUpper(parts[0]);
    Json patch = ParseEnvValue(value);
    for (size_t i = parts.size(); i-- > 1;) patch = Json{{parts[i], patch}};
    MergeInto(s, Json{{parts[0], patch}});
  }
  return FromJson(std::move(s));
}

absl::StatusOr<Settings> Settings::LoadFromProcessEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    absl::string_view kv(*e);
    const size_t eq = kv.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return Load(env);
}

Json MaskSecrets(const Json& effective) {
  Json out = effective;
  std::function<void(Json&)> walk = [&](Json& j) {
    if (!j.is_object()) return;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (IsSecretKey(it.key()) && !it.value().is_null() &&
          !(it.value().is_string() && it.value().get<std::string>().empty())) {
        it.value() = "********";
      } else {
        walk(it.value());
      }
    }
  };
  walk(out);
  return out;
}

}  // namespace pulp::core
