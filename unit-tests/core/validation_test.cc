#include "services/core/http/validation.h"

#include <gtest/gtest.h>

#include "services/core/http/errors.h"

namespace pulp::core::http {
namespace {

Json Errors(const RequestData& data, const std::vector<Field>& fields) {
  try {
    ValidateFields(data, fields);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    return e.body();
  }
  return Json::object();
}

TEST(Validation, RequiredUnknownAndTypedErrorsTogether) {
  RequestData data;
  data.fields = {{"size", "abc"}, {"surprise", 1}};
  Json errors = Errors(
      data,
      {{"size", Field::kInteger, true}, {"name", Field::kString, true}, {"flag", Field::kBoolean}});
  EXPECT_EQ(errors["size"][0], "A valid integer is required.");
  EXPECT_EQ(errors["name"][0], "This field is required.");
  EXPECT_EQ(errors["surprise"][0], "Unexpected field");
  EXPECT_FALSE(errors.contains("flag"));
}

TEST(Validation, FormStringsBecomeTypes) {
  RequestData data;
  data.is_form = true;
  data.fields = {{"size", "12"}, {"flag", "false"}, {"labels", "{\"a\": \"b\"}"}};
  Json out = ValidateFields(
      data, {{"size", Field::kInteger}, {"flag", Field::kBoolean}, {"labels", Field::kLabels}});
  EXPECT_EQ(out["size"], 12);
  EXPECT_EQ(out["flag"], false);
  EXPECT_EQ(out["labels"], (Json{{"a", "b"}}));
}

TEST(Validation, BoundsNullsAndLabels) {
  RequestData data;
  data.fields = {{"size", -1}, {"name", nullptr}, {"labels", {{"bad key!", "v"}}}};
  Json errors = Errors(data, {{"size", Field::kInteger, false, false, false, 0},
                              {"name", Field::kString},
                              {"labels", Field::kLabels}});
  EXPECT_EQ(errors["size"][0], "Ensure this value is greater than or equal to 0.");
  EXPECT_EQ(errors["name"][0], "This field may not be null.");
  EXPECT_EQ(errors["labels"][0], "Key 'bad key!' contains non-alphanumerics.");
}

TEST(Validation, MissingFileIsReported) {
  RequestData data;
  Json errors = Errors(data, {{"file", Field::kFile, true}});
  EXPECT_EQ(errors["file"][0], "No file was submitted.");
}

}  // namespace
}  // namespace pulp::core::http
