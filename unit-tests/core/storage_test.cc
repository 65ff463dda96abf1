#include "services/core/storage/artifact_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace pulp::core::storage {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("pulp-store-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(root_);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  size_t FilesUnder(const std::string& sub) {
    size_t n = 0;
    if (!std::filesystem::exists(root_ / sub)) return 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root_ / sub)) {
      n += e.is_regular_file();
    }
    return n;
  }
  std::filesystem::path root_;
};

TEST_F(StoreTest, CommitPlacesFileByDigestAndLeavesNoTemp) {
  ArtifactStore store(root_.string(), {"sha224", "sha256", "sha384", "sha512"});
  auto w = store.NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("hello\n", 6).ok());
  auto name = store.CommitArtifact(**w);
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(*name, "artifact/58/91b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  std::ifstream in(store.PathOf(*name));
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "hello\n");
  EXPECT_EQ((*w)->size(), 6u);
  EXPECT_EQ((*w)->digests().count("md5"), 0u);
  EXPECT_EQ(FilesUnder("tmp"), 0u);
}

TEST_F(StoreTest, AbandonedWriterRemovesItsTempFile) {
  ArtifactStore store(root_.string(), {"sha256"});
  {
    auto w = store.NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("partial", 7).ok());
    EXPECT_EQ(FilesUnder("tmp"), 1u);
  }
  EXPECT_EQ(FilesUnder("tmp"), 0u);
  EXPECT_EQ(FilesUnder("artifact"), 0u);
}

TEST_F(StoreTest, Sha256IsAlwaysComputed) {
  ArtifactStore store(root_.string(), {"sha512"});
  auto w = store.NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ((*w)->digests().at("sha256"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace pulp::core::storage
