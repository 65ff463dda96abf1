#include "services/core/http/errors.h"

namespace pulp::core::http {

ApiError FieldError(const std::string& field, const std::string& message) {
  return ApiError(400, core::Json{{field, {message}}});
}

ApiError NonFieldError(const std::string& message) {
  return ApiError(400, core::Json{{"non_field_errors", {message}}});
}

ApiError BareValidationError(const std::string& message) {
  return ApiError(400, core::Json::array({message}));
}

ApiError DetailError(int status, const std::string& detail) {
  return ApiError(status, core::Json{{"detail", detail}});
}

ApiError NotFoundError(const std::string& model_name) {
  return DetailError(404, "No " + model_name + " matches the given query.");
}

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kResourceExhausted:
      return 413;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

ApiError FromStatus(const absl::Status& status) {
  const int code = HttpStatusFor(status.code());
  if (code == 400) return BareValidationError(std::string(status.message()));
  return DetailError(code, std::string(status.message()));
}

}  // namespace pulp::core::http
