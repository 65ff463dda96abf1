#pragma once

#include <string>

#include "services/core/http/message.h"

namespace pulp::core::content {

// A plain-text response as the content app words its errors ("404: Not Found").
http::Response Text(int status, const std::string& body);

// Content-Type by file extension, as upstream's content app guesses it.
std::string MimeType(const std::string& path);

// Sends a file from disk (sendfile) with upstream's headers (ETag, Last-Modified,
// X-PULP-ARTIFACT-SIZE), conditional requests (304) and a single Range (206/416). `rel` is the
// served name, for the content type.
http::Response ServeFile(const http::Request& req, const std::string& file, const std::string& rel);

}  // namespace pulp::core::content
