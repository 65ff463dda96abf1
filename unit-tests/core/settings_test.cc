#include "services/core/config/settings.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace pulp::core {
namespace {

TEST(Settings, DefaultsAreUpstreams) {
  auto s = Settings::Load({});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->api_root, "/pulp/");
  EXPECT_EQ(s->ApiV3Root(), "/pulp/api/v3/");
  EXPECT_EQ(s->content_path_prefix, "/pulp/content/");
  EXPECT_EQ(s->media_root, "/var/lib/pulp/media");
  EXPECT_EQ(s->static_url, "/assets/");
  EXPECT_EQ(s->worker_ttl, 30);
  EXPECT_TRUE(s->use_new_worker_style);
  EXPECT_TRUE(s->ChecksumAllowed("sha256"));
  EXPECT_FALSE(s->ChecksumAllowed("md5"));
  EXPECT_EQ(s->database.port, 5432);
}

TEST(Settings, EnvironmentOverridesNestedAndTyped) {
  auto s = Settings::Load({{"PULP_DATABASES__default__HOST", "db.local"},
                           {"PULP_DATABASES__default__PORT", "6543"},
                           {"PULP_WORKER_TTL", "45"},
                           {"PULP_USE_NEW_WORKER_STYLE", "False"},
                           {"PULP_ALLOWED_CONTENT_CHECKSUMS", "['sha256', 'sha512']"},
                           {"PULP_CONTENT_ORIGIN", "http://pulp.example:24816"}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->database.host, "db.local");
  EXPECT_EQ(s->database.port, 6543);
  EXPECT_EQ(s->worker_ttl, 45);
  EXPECT_FALSE(s->use_new_worker_style);
  EXPECT_EQ(s->allowed_content_checksums, (std::vector<std::string>{"sha256", "sha512"}));
  EXPECT_EQ(s->content_origin, "http://pulp.example:24816");
}

TEST(Settings, YamlFileIsReadAndEnvironmentWins) {
  char path[] = "/tmp/pulp-settings-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << "media_root: /srv/media\nWORKER_TTL: 12\nDATABASES:\n  default:\n"
                         "    NAME: fromfile\n    PASSWORD: s3cret\n";
  auto s = Settings::Load({{"PULP_SETTINGS", path}, {"PULP_WORKER_TTL", "20"}});
  std::remove(path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->media_root, "/srv/media");
  EXPECT_EQ(s->worker_ttl, 20);
  EXPECT_EQ(s->database.name, "fromfile");
  EXPECT_EQ(s->database.password, "s3cret");
  Json masked = MaskSecrets(s->effective);
  EXPECT_EQ(masked["DATABASES"]["default"]["PASSWORD"], "********");
  EXPECT_EQ(masked["MEDIA_ROOT"], "/srv/media");
}

TEST(Settings, BadValuesNameTheSetting) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"PULP_API_ROOT", "pulp"},
      {"PULP_WORKER_TTL", "abc"},
      {"PULP_ALLOWED_CONTENT_CHECKSUMS", "[\"md5\"]"},
      {"PULP_ALLOWED_CONTENT_CHECKSUMS", "[\"sha256\", \"crc32\"]"},
      {"PULP_MEDIA_ROOT", "relative/path"},
      {"PULP_CONTENT_ORIGIN", "pulp.example"},
      {"PULP_DATABASES__default__PORT", "70000"},
      {"PULP_DOMAIN_ENABLED", "true"},
  };
  for (const auto& [name, value] : bad) {
    auto s = Settings::Load({{name, value}});
    ASSERT_FALSE(s.ok()) << name << "=" << value;
    std::string setting = name.substr(
        5, name.find("__") == std::string::npos ? std::string::npos : name.find("__") - 5);
    EXPECT_NE(std::string(s.status().message()).find(setting), std::string::npos)
        << s.status().message();
  }
}

TEST(Settings, MissingSettingsFileIsAnError) {
  auto s = Settings::Load({{"PULP_SETTINGS", "/nonexistent/settings.yaml"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(std::string(s.status().message()).find("PULP_SETTINGS"), std::string::npos);
}

TEST(Settings, ConnectionStringQuotesValues) {
  DatabaseSettings db;
  db.password = "it's";
  EXPECT_NE(db.ConnectionString().find("password='it\\'s'"), std::string::npos);
}

}  // namespace
}  // namespace pulp::core
