#include "services/core/http/listing.h"

#include <gtest/gtest.h>

namespace pulp::core::http {
namespace {

TEST(Hrefs, PkFromHrefAcceptsRelativeAndAbsolute) {
  const std::string prefix = "/pulp/api/v3/artifacts/";
  const std::string pk = "01a241e9-4d67-7bab-b839-6e58b2851056";
  EXPECT_EQ(PkFromHref(prefix + pk + "/", prefix), pk);
  EXPECT_EQ(PkFromHref("http://h:1" + prefix + pk + "/", prefix), pk);
  EXPECT_EQ(PkFromHref(prefix + pk, prefix), "");
  EXPECT_EQ(PkFromHref("/pulp/api/v3/uploads/" + pk + "/", prefix), "");
  EXPECT_EQ(PkFromHref(prefix + "not-a-uuid/", prefix), "");
}

TEST(Hrefs, PkFromPrnChecksTheType) {
  const std::string pk = "01a241e9-4d67-7bab-b839-6e58b2851056";
  EXPECT_EQ(PkFromPrn("prn:core.artifact:" + pk, "core.artifact"), pk);
  EXPECT_EQ(PkFromPrn("prn:core.task:" + pk, "core.artifact"), "");
  EXPECT_EQ(PkFromPrn("prn:core.artifact:xyz", "core.artifact"), "");
}

TEST(DateTimes, AcceptsDjangoFormsFormats) {
  EXPECT_EQ(ParseDateTime("2024-05-01T12:34:56.789012Z"), "2024-05-01T12:34:56.789012+00:00");
  EXPECT_EQ(ParseDateTime("2024-05-01T12:34:56+02:00"), "2024-05-01T10:34:56+00:00");
  EXPECT_EQ(ParseDateTime("2024-05-01 12:34"), "2024-05-01T12:34:00+00:00");
  EXPECT_EQ(ParseDateTime("2024-05-01"), "2024-05-01T00:00:00+00:00");
  EXPECT_EQ(ParseDateTime("2024-13-01"), "");
  EXPECT_EQ(ParseDateTime("yesterday"), "");
}

TEST(FieldSelection, FieldsAndExcludeFields) {
  Json obj = {{"a", 1}, {"b", 2}, {"c", 3}};
  Request r;
  r.query = {{"fields", "a,c"}};
  EXPECT_EQ(SelectFields(obj, r), (Json{{"a", 1}, {"c", 3}}));
  r.query = {{"fields", "a"}, {"fields", "b"}, {"exclude_fields", "b"}};
  EXPECT_EQ(SelectFields(obj, r), (Json{{"a", 1}}));
  r.query = {{"exclude_fields", "zzz"}};
  EXPECT_EQ(SelectFields(obj, r), obj);
}

TEST(Parameters, ListParametersDeclareArraysAndLookups) {
  ListSpec spec;
  spec.filters = {{"name", "t.name", FilterDef::kText, NameLookups()},
                  {"size", "t.size", FilterDef::kNumber, {"", "gt"}}};
  spec.ordering = {{"name", "t.name"}};
  spec.labels_column = "t.pulp_labels";
  std::map<std::string, Json> by_name;
  for (const auto& p : ListParameters(spec)) by_name[p.name] = p.schema;
  EXPECT_EQ(by_name["limit"]["type"], "integer");
  EXPECT_EQ(by_name["offset"]["type"], "integer");
  EXPECT_EQ(by_name["ordering"]["type"], "array");
  EXPECT_EQ(by_name["name__in"]["type"], "array");
  EXPECT_EQ(by_name["name__icontains"]["type"], "string");
  EXPECT_EQ(by_name["size__gt"]["type"], "integer");
  EXPECT_EQ(by_name["fields"]["type"], "array");
  EXPECT_EQ(by_name["exclude_fields"]["type"], "array");
  EXPECT_EQ(by_name["pulp_href__in"]["type"], "array");
  EXPECT_TRUE(by_name.count("pulp_label_select"));
}

}  // namespace
}  // namespace pulp::core::http
