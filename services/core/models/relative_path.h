#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace pulp::core::models {

// Empty when `path` is a canonical relative path (no leading or trailing '/', no empty, '.' or
// '..' segment, no whitespace, control characters, '?' or '#', valid UTF-8); otherwise the
// error message upstream gives.
std::string RelativePathError(absl::string_view path);

}  // namespace pulp::core::models
