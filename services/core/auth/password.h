#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace pulp::core::auth {

// Django's default: pbkdf2_sha256$<iterations>$<salt>$<base64 hash>, so users and hashes move
// between upstream Pulp and us unchanged.
inline constexpr int kDefaultIterations = 1'000'000;

std::string HashPassword(absl::string_view password, int iterations = kDefaultIterations);

// Constant-time check of `password` against an encoded hash; false for unknown formats.
bool VerifyPassword(absl::string_view password, absl::string_view encoded);

}  // namespace pulp::core::auth
