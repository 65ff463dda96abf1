#include "services/core/openapi/generator.h"

#include <gtest/gtest.h>

#include "services/core/app_context.h"
#include "services/core/http/router.h"
#include "services/core/plugin.h"
#include "services/plugins/file/plugin.h"

namespace pulp::core::openapi {
namespace {

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::unique_ptr<Plugin>> plugins;
    plugins.push_back(MakeCorePlugin());
    plugins.push_back(plugins::file::MakeFilePlugin());
    auto app = AppContext::Create(*Settings::Load({}), std::move(plugins), 1);
    ASSERT_TRUE(app.ok());
    app_ = std::move(*app);
    RegisterAllRoutes(*app_, router_);
    doc_ = Generate(*app_, router_, {});
  }

  // The operation with `id`, and the path key it sits under.
  std::pair<std::string, Json> Find(const std::string& id) {
    for (auto it = doc_["paths"].begin(); it != doc_["paths"].end(); ++it) {
      for (auto op = it.value().begin(); op != it.value().end(); ++op) {
        if (op.value()["operationId"] == id) return {it.key(), op.value()};
      }
    }
    return {"", Json()};
  }

  std::unique_ptr<AppContext> app_;
  http::Router router_;
  Json doc_;
};

TEST_F(OpenApiTest, InfoCarriesAppVersions) {
  EXPECT_EQ(doc_["openapi"].get<std::string>().substr(0, 2), "3.");
  EXPECT_EQ(doc_["info"]["x-pulp-app-versions"]["core"], kPulpVersion);
  EXPECT_EQ(doc_["info"]["x-pulp-app-versions"]["file"], kPulpVersion);
  EXPECT_EQ(doc_["info"]["x-pulp-domain-enabled"], false);
}

TEST_F(OpenApiTest, DetailPathsAreHrefTemplates) {
  EXPECT_EQ(Find("artifacts_read").first, "{artifact_href}");
  EXPECT_EQ(Find("uploads_commit").first, "{upload_href}commit/");
  EXPECT_EQ(Find("tasks_cancel").first, "{task_href}");
  EXPECT_EQ(Find("content_file_files_read").first, "{file_file_content_href}");
  EXPECT_EQ(Find("content_file_files_list").first, "/pulp/api/v3/content/file/files/");
  EXPECT_EQ(Find("content_file_files_upload").first, "/pulp/api/v3/content/file/files/upload/");
  EXPECT_EQ(Find("status_read").first, "/pulp/api/v3/status/");
  auto [key, op] = Find("uploads_commit");
  ASSERT_EQ(op["parameters"][0]["name"], "upload_href");
  EXPECT_EQ(op["parameters"][0]["in"], "path");
  EXPECT_EQ(op["parameters"][0]["required"], true);
}

TEST_F(OpenApiTest, ListParametersAreTypedForPulpGlue) {
  auto [key, op] = Find("tasks_list");
  std::map<std::string, Json> params;
  for (const auto& p : op["parameters"]) params[p["name"]] = p;
  EXPECT_EQ(params["state__in"]["schema"]["type"], "array");
  EXPECT_EQ(params["state__in"]["explode"], false);
  EXPECT_EQ(params["fields"]["schema"]["type"], "array");
  EXPECT_EQ(params["limit"]["schema"]["type"], "integer");
  EXPECT_TRUE(params.count("reserved_resources__in"));
}

TEST_F(OpenApiTest, FileUploadIsMultipartBinary) {
  auto [key, op] = Find("content_file_files_create");
  EXPECT_TRUE(op["requestBody"]["content"].contains("multipart/form-data"));
  EXPECT_EQ(op["responses"]["202"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/AsyncOperationResponse");
  EXPECT_EQ(doc_["components"]["schemas"]["file.FileContent"]["properties"]["file"]["format"],
            "binary");
}

TEST_F(OpenApiTest, AnonymousOperationsAllowNoCredentials) {
  EXPECT_EQ(Find("status_read").second["security"][0], Json::object());
  EXPECT_EQ(Find("artifacts_list").second["security"][0], (Json{{"basicAuth", Json::array()}}));
}

TEST_F(OpenApiTest, BindingsVariantShortensIds) {
  GeneratorOptions o;
  o.bindings = true;
  Json doc = Generate(*app_, router_, o);
  EXPECT_EQ(doc["paths"]["{artifact_href}"]["get"]["operationId"], "read");
}

TEST_F(OpenApiTest, EveryOperationHasIdTagsAndDescribedResponses) {
  for (auto it = doc_["paths"].begin(); it != doc_["paths"].end(); ++it) {
    for (auto op = it.value().begin(); op != it.value().end(); ++op) {
      EXPECT_FALSE(op.value()["operationId"].get<std::string>().empty()) << it.key();
      for (auto r = op.value()["responses"].begin(); r != op.value()["responses"].end(); ++r) {
        EXPECT_TRUE(r.value().contains("description")) << it.key() << " " << r.key();
      }
    }
  }
}

}  // namespace
}  // namespace pulp::core::openapi
