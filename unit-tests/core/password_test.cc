#include "services/core/auth/password.h"

#include <gtest/gtest.h>

namespace pulp::core::auth {
namespace {

TEST(Password, HashHasDjangoFormatAndVerifies) {
  const std::string h = HashPassword("hunter2", 1000);
  EXPECT_EQ(h.rfind("pbkdf2_sha256$1000$", 0), 0u) << h;
  EXPECT_TRUE(VerifyPassword("hunter2", h));
  EXPECT_FALSE(VerifyPassword("hunter3", h));
  EXPECT_NE(HashPassword("hunter2", 1000), h) << "salts must differ";
}

TEST(Password, VerifiesAHashDjangoProduced) {
  // Django's make_password("password", salt="abcdefghijklmnop") at 1000 rounds: base64 of
  // hashlib.pbkdf2_hmac("sha256", b"password", b"abcdefghijklmnop", 1000).
  const std::string django =
      "pbkdf2_sha256$1000$abcdefghijklmnop$zmpYmraJ8a17OK9Yol0wrW9/A1PnsRg6/JUmt47UJG8=";
  EXPECT_TRUE(VerifyPassword("password", django));
  EXPECT_FALSE(VerifyPassword("Password", django));
}

TEST(Password, RejectsMalformedHashes) {
  EXPECT_FALSE(VerifyPassword("a", ""));
  EXPECT_FALSE(VerifyPassword("a", "md5$1$salt$hash"));
  EXPECT_FALSE(VerifyPassword("a", "pbkdf2_sha256$abc$salt$hash"));
  EXPECT_FALSE(VerifyPassword("a", "pbkdf2_sha256$0$salt$hash"));
}

}  // namespace
}  // namespace pulp::core::auth
