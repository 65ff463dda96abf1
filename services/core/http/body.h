#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "services/core/http/message.h"
#include "services/core/util/json.h"

namespace pulp::core::http {

// Where a multipart file part goes while it streams in (storage hashes it into a temp file).
class FileSink {
 public:
  virtual ~FileSink() = default;
  virtual absl::Status Write(const char* data, size_t n) = 0;
  // The whole part arrived.
  virtual absl::Status Finish() = 0;
};

using FileSinkFactory =
    std::function<std::unique_ptr<FileSink>(const std::string& field, const std::string& filename)>;

struct UploadedFile {
  std::string filename;
  std::unique_ptr<FileSink> sink;
};

// The request's data, as DRF's request.data: JSON as sent; form fields as strings (a repeated
// key becomes a list); files in `files`.
struct RequestData {
  core::Json fields = core::Json::object();
  std::map<std::string, UploadedFile> files;
  bool is_form = false;  // values arrived as strings (urlencoded or multipart)
};

struct BodyLimits {
  size_t max_json_bytes = 16 << 20;
  size_t max_form_field_bytes = 1 << 20;
  size_t max_form_bytes = 16 << 20;  // everything but file parts
};

// Parses the body by Content-Type (application/json, application/x-www-form-urlencoded,
// multipart/form-data). Throws ApiError with upstream's 400/413/415 bodies. File parts stream
// into sinks from `sinks`; without a factory, a file part is an error.
RequestData ReadRequestData(Request& request, const FileSinkFactory& sinks = nullptr,
                            const BodyLimits& limits = {});

// Reads the whole body as JSON (PATCH/PUT of JSON-only endpoints).
core::Json ReadJsonObject(Request& request, const BodyLimits& limits = {});

// Splits "multipart/form-data; boundary=x" into its parameter value; empty if absent.
std::string ContentTypeParameter(const std::string& content_type, const std::string& name);

}  // namespace pulp::core::http
