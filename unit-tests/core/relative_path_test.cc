#include "services/core/models/relative_path.h"

#include <gtest/gtest.h>

namespace pulp::core::models {
namespace {

TEST(RelativePath, AcceptsCanonicalPaths) {
  for (const char* ok : {"a", "a/b.txt", "dir/sub/file.iso", "weird,name=1.txt", "ünïcode/ok"}) {
    EXPECT_EQ(RelativePathError(ok), "") << ok;
  }
}

TEST(RelativePath, RejectsEverythingThatCouldEscapeOrAlias) {
  const std::vector<std::string> bads = {"",
                                         "/abs",
                                         "trailing/",
                                         "a//b",
                                         "../x",
                                         "a/../b",
                                         "a/./b",
                                         ".",
                                         "..",
                                         "with space",
                                         "q?x",
                                         "h#x",
                                         "tab\tx",
                                         std::string("nul\0x", 5),
                                         std::string("bad\xff")};
  for (const std::string& bad : bads) {
    EXPECT_NE(RelativePathError(bad), "") << bad;
  }
  EXPECT_EQ(RelativePathError("../x"), "Relative path is not in canonical form. ../x");
}

}  // namespace
}  // namespace pulp::core::models
