#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/core/http/body.h"
#include "services/core/util/json.h"

namespace pulp::core::http {

// A writable serializer field, DRF style: validation turns form strings into typed values and
// collects every error into one 400 body.
struct Field {
  enum Kind {
    kString,
    kInteger,
    kNumber,
    kBoolean,
    kObject,
    kList,
    kStringList,
    kLabels,
    kFile,
    kAny
  };
  std::string name;
  Kind kind = kString;
  bool required = false;
  bool allow_null = false;
  bool allow_blank = false;
  std::optional<int64_t> min_value;
  std::optional<int64_t> max_value;
  size_t max_length = 0;  // 0 = unbounded
};

// Validates `data` against `fields`. Returns an object holding only the fields that were sent,
// normalized to their types. Unknown keys are "Unexpected field". With `partial`, required
// fields may be missing (PATCH). Throws ApiError(400, {field: [msgs]}).
core::Json ValidateFields(const RequestData& data, const std::vector<Field>& fields,
                          bool partial = false);

// The error messages DRF gives, for fields validated by hand.
namespace messages {
inline constexpr char kRequired[] = "This field is required.";
inline constexpr char kNull[] = "This field may not be null.";
inline constexpr char kBlank[] = "This field may not be blank.";
inline constexpr char kUnexpected[] = "Unexpected field";
}  // namespace messages

}  // namespace pulp::core::http
