#include "services/core/http/body.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/core/http/errors.h"

namespace pulp::core::http {
namespace {

std::string MediaType(const std::string& content_type) {
  std::string t(absl::StripAsciiWhitespace(content_type.substr(0, content_type.find(';'))));
  absl::AsciiStrToLower(&t);
  return t;
}

ApiError ParseError(const std::string& what) { return DetailError(400, what); }

std::string ReadAll(Request& request, size_t limit, const char* what) {
  std::string out;
  if (request.body == nullptr) return out;
  if (auto len = request.body->ContentLength(); len && *len > limit) {
    throw DetailError(
        413, absl::StrCat("Request body exceeds the ", limit >> 20, " MiB limit for ", what, "."));
  }
  char buf[65536];
  while (true) {
    auto n = request.body->Read(buf, sizeof buf);
    if (!n.ok()) throw ParseError(absl::StrCat(what, " parse error - incomplete request body."));
    if (*n == 0) break;
    if (out.size() + *n > limit) {
      throw DetailError(413, absl::StrCat("Request body exceeds the ", limit >> 20,
                                          " MiB limit for ", what, "."));
    }
    out.append(buf, *n);
  }
  return out;
}

core::Json ParseJson(const std::string& text) {
  if (absl::StripAsciiWhitespace(text).empty()) return core::Json::object();
  try {
    return core::Json::parse(text);
  } catch (const core::Json::parse_error& e) {
    std::string msg = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] "; keep the human part.
    if (auto pos = msg.find("] "); pos != std::string::npos) msg = msg.substr(pos + 2);
    throw ParseError(absl::StrCat("JSON parse error - ", msg));
  }
}

void AddFormValue(core::Json& fields, const std::string& key, std::string value) {
  if (!fields.contains(key)) {
    fields[key] = std::move(value);
  } else if (fields[key].is_array()) {
    fields[key].push_back(std::move(value));
  } else {
    core::Json list = core::Json::array({fields[key], value});
    fields[key] = std::move(list);
  }
}

// Streaming multipart/form-data reader: fields are buffered (bounded), file parts go to sinks
// chunk by chunk, so a 2 GiB upload never sits in memory.
class MultipartReader {
 public:
  MultipartReader(Request& request, std::string boundary, const FileSinkFactory& sinks,
                  const BodyLimits& limits, RequestData& out)
      : request_(request),
        delimiter_("\r\n--" + boundary),
        sinks_(sinks),
        limits_(limits),
        out_(out) {}

  void Run() {
    // The first boundary may follow a preamble; the stream is treated as if it began with CRLF.
    buf_ = "\r\n";
    if (!FindDelimiter(nullptr)) Fail("Invalid boundary in multipart: None");
    while (true) {
      // After a delimiter: "--" ends the body, CRLF starts a part.
      if (!Ensure(2)) Fail("Unexpected end of body.");
      if (buf_.compare(pos_, 2, "--") == 0) return;
      if (buf_.compare(pos_, 2, "\r\n") != 0) Fail("Invalid boundary in multipart.");
      pos_ += 2;
      ReadPart();
    }
  }

 private:
  [[noreturn]] void Fail(const std::string& why) {
    throw ParseError(absl::StrCat("Multipart form parse error - ", why));
  }

  // Makes at least n unread bytes available; false at end of body.
  bool Ensure(size_t n) {
    while (buf_.size() - pos_ < n) {
      if (eof_) return false;
      Compact();
      char chunk[65536];
      auto got = request_.body->Read(chunk, sizeof chunk);
      if (!got.ok()) Fail("Unexpected end of body.");
      if (*got == 0) {
        eof_ = true;
        return buf_.size() - pos_ >= n;
      }
      buf_.append(chunk, *got);
    }
    return true;
  }

  void Compact() {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }

  // Consumes bytes up to and including the next delimiter, handing the bytes before it to
  // `emit` (nullptr: discard). False if the body ended first.
  bool FindDelimiter(const std::function<void(const char*, size_t)>* emit) {
    while (true) {
      const size_t at = buf_.find(delimiter_, pos_);
      if (at != std::string::npos) {
        if (emit != nullptr && at > pos_) (*emit)(buf_.data() + pos_, at - pos_);
        pos_ = at + delimiter_.size();
        return true;
      }
      // Everything but a possible delimiter prefix at the end can go out now.
      const size_t keep = delimiter_.size() - 1;
      if (buf_.size() - pos_ > keep) {
        const size_t n = buf_.size() - pos_ - keep;
        if (emit != nullptr) (*emit)(buf_.data() + pos_, n);
        pos_ += n;
      }
      if (!Ensure(buf_.size() - pos_ + 1)) return false;
    }
  }

  void ReadPart() {
    std::string name, filename;
    bool has_filename = false;
    // Part headers end with an empty line.
    while (true) {
      size_t eol;
      while ((eol = buf_.find("\r\n", pos_)) == std::string::npos) {
        if (buf_.size() - pos_ > 16384) Fail("Part headers too large.");
        if (!Ensure(buf_.size() - pos_ + 1)) Fail("Unexpected end of body.");
      }
      std::string line = buf_.substr(pos_, eol - pos_);
      pos_ = eol + 2;
      if (line.empty()) break;
      const size_t colon = line.find(':');
      if (colon == std::string::npos) Fail("Invalid part header.");
      std::string header = absl::AsciiStrToLower(line.substr(0, colon));
      if (header != "content-disposition") continue;
      for (absl::string_view param : absl::StrSplit(line.substr(colon + 1), ';')) {
        param = absl::StripAsciiWhitespace(param);
        const size_t eq = param.find('=');
        if (eq == absl::string_view::npos) continue;
        std::string key = absl::AsciiStrToLower(param.substr(0, eq));
        std::string value(param.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
          value = value.substr(1, value.size() - 2);
        }
        if (key == "name") name = value;
        if (key == "filename") {
          filename = value;
          has_filename = true;
        }
      }
    }
    if (name.empty()) Fail("Part without a name.");
    if (has_filename) {
      if (!sinks_) throw FieldError(name, "Unexpected field");
      std::unique_ptr<FileSink> sink = sinks_(name, filename);
      if (sink == nullptr) throw FieldError(name, "Unexpected field");
      absl::Status status;
      std::function<void(const char*, size_t)> emit = [&](const char* d, size_t n) {
        if (status.ok()) status = sink->Write(d, n);
      };
      if (!FindDelimiter(&emit)) Fail("Unexpected end of body.");
      if (status.ok()) status = sink->Finish();
      if (!status.ok()) throw DetailError(500, std::string(status.message()));
      out_.files[name] = UploadedFile{filename, std::move(sink)};
    } else {
      std::string value;
      std::function<void(const char*, size_t)> emit = [&](const char* d, size_t n) {
        if (value.size() + n > limits_.max_form_field_bytes) {
          throw DetailError(413, absl::StrCat("Form field '", name, "' is too large."));
        }
        value.append(d, n);
        form_bytes_ += n;
        if (form_bytes_ > limits_.max_form_bytes) throw DetailError(413, "Form data is too large.");
      };
      if (!FindDelimiter(&emit)) Fail("Unexpected end of body.");
      if (!IsValidUtf8(value)) throw FieldError(name, "Invalid UTF-8 in form field.");
      AddFormValue(out_.fields, name, std::move(value));
    }
  }

  Request& request_;
  const std::string delimiter_;
  const FileSinkFactory& sinks_;
  const BodyLimits& limits_;
  RequestData& out_;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t form_bytes_ = 0;
};

}  // namespace

std::string ContentTypeParameter(const std::string& content_type, const std::string& name) {
  std::vector<absl::string_view> parts = absl::StrSplit(content_type, ';');
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
    const size_t eq = p.find('=');
    if (eq == absl::string_view::npos) continue;
    if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(p.substr(0, eq)), name)) continue;
    std::string v(absl::StripAsciiWhitespace(p.substr(eq + 1)));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return "";
}

RequestData ReadRequestData(Request& request, const FileSinkFactory& sinks,
                            const BodyLimits& limits) {
  RequestData data;
  const std::string content_type = request.Header("content-type");
  const std::string media = MediaType(content_type);
  if (media.empty() || media == "application/json") {
    std::string text = ReadAll(request, limits.max_json_bytes, "JSON");
    if (media.empty() && absl::StripAsciiWhitespace(text).empty()) return data;
    core::Json j = ParseJson(text);
    if (!j.is_object()) {
      throw NonFieldError(absl::StrCat("Invalid data. Expected a dictionary, but got ",
                                       j.is_array() ? "list" : j.type_name(), "."));
    }
    data.fields = std::move(j);
    return data;
  }
  data.is_form = true;
  if (media == "application/x-www-form-urlencoded") {
    std::string text = ReadAll(request, limits.max_form_bytes, "form");
    for (auto& [k, v] : ParseQueryString(text)) {
      if (!IsValidUtf8(v) || !IsValidUtf8(k)) throw ParseError("Form parse error - invalid UTF-8.");
      AddFormValue(data.fields, k, std::move(v));
    }
    return data;
  }
  if (media == "multipart/form-data") {
    std::string boundary = ContentTypeParameter(content_type, "boundary");
    if (boundary.empty() || boundary.size() > 200) {
      throw ParseError("Multipart form parse error - Invalid boundary in multipart: None");
    }
    MultipartReader(request, boundary, sinks, limits, data).Run();
    return data;
  }
  throw DetailError(415, absl::StrCat("Unsupported media type \"", content_type, "\" in request."));
}

core::Json ReadJsonObject(Request& request, const BodyLimits& limits) {
  RequestData data = ReadRequestData(request, nullptr, limits);
  return std::move(data.fields);
}

}  // namespace pulp::core::http
