#include "services/core/models/relative_path.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/core/util/json.h"

namespace pulp::core::models {

std::string RelativePathError(absl::string_view path) {
  const std::string error =
      absl::StrCat("Relative path is not in canonical form. ",
                   IsValidUtf8(std::string(path)) ? std::string(path) : "<invalid UTF-8>");
  if (path.empty() || !IsValidUtf8(std::string(path))) return error;
  for (unsigned char c : path) {
    if (c < 0x20 || c == 0x7f || c == ' ' || c == '?' || c == '#') return error;
  }
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    if (segment.empty() || segment == "." || segment == "..") return error;
  }
  return "";
}

}  // namespace pulp::core::models
