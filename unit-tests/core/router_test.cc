#include "services/core/http/router.h"

#include <gtest/gtest.h>

namespace pulp::core::http {
namespace {

Route Make(std::string method, std::string pattern, std::string id) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.operation.operation_id = id;
  r.handler = [id](Request&) { return Response::Text(200, "text/plain", id); };
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router.Add(Make("GET", "/pulp/api/v3/content/file/files/{pulp_id}/", "read"));
    router.Add(Make("POST", "/pulp/api/v3/content/file/files/upload/", "upload"));
    router.Add(Make("GET", "/pulp/api/v3/content/file/files/", "list"));
    router.Add(Make("DELETE", "/pulp/api/v3/content/file/files/{pulp_id}/", "delete"));
  }
  Router router;
};

TEST_F(RouterTest, MatchesParamsAndPrefersLiteralSegments) {
  Request r;
  r.method = "POST";
  r.path = "/pulp/api/v3/content/file/files/upload/";
  auto m = router.Find(r);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation.operation_id, "upload");

  r.method = "GET";
  r.path = "/pulp/api/v3/content/file/files/abc/";
  m = router.Find(r);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation.operation_id, "read");
  EXPECT_EQ(r.path_params["pulp_id"], "abc");
}

TEST_F(RouterTest, HeadIsGetAndMissingSlashStillMatches) {
  Request r;
  r.method = "HEAD";
  r.path = "/pulp/api/v3/content/file/files";
  auto m = router.Find(r);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->operation.operation_id, "list");
}

TEST_F(RouterTest, UnknownPathIs404AndWrongMethodIs405WithAllow) {
  Request r;
  r.method = "GET";
  r.path = "/pulp/api/v3/nothing/";
  EXPECT_EQ(router.Find(r).error_status, 404);
  r.method = "PUT";
  r.path = "/pulp/api/v3/content/file/files/abc/";
  auto m = router.Find(r);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.error_status, 405);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET", "DELETE"}));
}

}  // namespace
}  // namespace pulp::core::http
