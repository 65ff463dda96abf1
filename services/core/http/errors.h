#pragma once

#include <exception>
#include <string>

#include "absl/status/status.h"
#include "services/core/http/message.h"
#include "services/core/util/json.h"

namespace pulp::core::http {

// An error a client can cause, carrying upstream's status code and JSON body. Handlers throw it;
// the API app turns it into the response. Only control-plane code uses it.
class ApiError : public std::exception {
 public:
  ApiError(int status, core::Json body) : status_(status), body_(std::move(body)) {}
  const char* what() const noexcept override { return "api error"; }
  int status() const { return status_; }
  const core::Json& body() const { return body_; }
  Response ToResponse() const { return Response::Json(status_, body_); }

 private:
  int status_;
  core::Json body_;
};

// 400 {"<field>": ["msg"]}
ApiError FieldError(const std::string& field, const std::string& message);
// 400 {"non_field_errors": ["msg"]}
ApiError NonFieldError(const std::string& message);
// 400 ["msg"]: a ValidationError raised in a view rather than a serializer.
ApiError BareValidationError(const std::string& message);
// {"detail": "..."} with any status.
ApiError DetailError(int status, const std::string& detail);
// 404 {"detail": "No <Model> matches the given query."}
ApiError NotFoundError(const std::string& model_name);

// The one mapping from absl::Status codes to HTTP statuses.
int HttpStatusFor(absl::StatusCode code);
ApiError FromStatus(const absl::Status& status);

}  // namespace pulp::core::http
