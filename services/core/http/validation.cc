#include "services/core/http/validation.h"

#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/core/http/errors.h"

namespace pulp::core::http {
namespace {

const char* TypeName(const core::Json& v) {
  if (v.is_string()) return "str";
  if (v.is_boolean()) return "bool";
  if (v.is_number_integer()) return "int";
  if (v.is_number()) return "float";
  if (v.is_array()) return "list";
  if (v.is_object()) return "dict";
  return "NoneType";
}

// Returns an error message or empty; on success writes the normalized value to `out`.
std::string ValidateOne(const Field& f, const core::Json& in, bool is_form, core::Json& out) {
  if (in.is_null() || (is_form && f.allow_null && in.is_string() && in.get<std::string>().empty() &&
                       f.kind != Field::kString)) {
    if (!f.allow_null) return messages::kNull;
    out = nullptr;
    return "";
  }
  switch (f.kind) {
    case Field::kString: {
      if (!in.is_string() && !in.is_number()) return "Not a valid string.";
      std::string s = in.is_string() ? in.get<std::string>() : in.dump();
      if (s.find('\0') != std::string::npos) return "Null characters are not allowed.";
      if (s.empty() && !f.allow_blank) return messages::kBlank;
      if (f.max_length > 0 && s.size() > f.max_length) {
        return absl::StrCat("Ensure this field has no more than ", f.max_length, " characters.");
      }
      out = std::move(s);
      return "";
    }
    case Field::kInteger: {
      int64_t n;
      if (in.is_number_integer()) {
        n = in.get<int64_t>();
      } else if (in.is_string() &&
                 absl::SimpleAtoi(absl::StripAsciiWhitespace(in.get<std::string>()), &n)) {
      } else if (in.is_number_float() &&
                 in.get<double>() == static_cast<int64_t>(in.get<double>())) {
        n = static_cast<int64_t>(in.get<double>());
      } else {
        return "A valid integer is required.";
      }
      if (f.min_value && n < *f.min_value) {
        return absl::StrCat("Ensure this value is greater than or equal to ", *f.min_value, ".");
      }
      if (f.max_value && n > *f.max_value) {
        return absl::StrCat("Ensure this value is less than or equal to ", *f.max_value, ".");
      }
      out = n;
      return "";
    }
    case Field::kNumber: {
      double d;
      if (in.is_number()) {
        d = in.get<double>();
      } else if (in.is_string() &&
                 absl::SimpleAtod(absl::StripAsciiWhitespace(in.get<std::string>()), &d)) {
      } else {
        return "A valid number is required.";
      }
      if (f.min_value && d < static_cast<double>(*f.min_value)) {
        return absl::StrCat("Ensure this value is greater than or equal to ", *f.min_value, ".");
      }
      out = d;
      return "";
    }
    case Field::kList: {
      core::Json list = in;
      if (is_form && in.is_string()) {
        list = core::Json::parse(in.get<std::string>(), nullptr, false);
        if (list.is_discarded()) return "Value must be valid JSON.";
      }
      if (!list.is_array()) {
        return absl::StrCat("Expected a list of items but got type \"", TypeName(list), "\".");
      }
      out = std::move(list);
      return "";
    }
    case Field::kBoolean: {
      if (in.is_boolean()) {
        out = in;
        return "";
      }
      std::string s = in.is_string()           ? absl::AsciiStrToLower(in.get<std::string>())
                      : in.is_number_integer() ? in.dump()
                                               : "";
      if (s == "true" || s == "1" || s == "yes" || s == "on" || s == "t" || s == "y") {
        out = true;
      } else if (s == "false" || s == "0" || s == "no" || s == "off" || s == "f" || s == "n") {
        out = false;
      } else {
        return "Must be a valid boolean.";
      }
      return "";
    }
    case Field::kStringList: {
      core::Json list = in.is_array() ? in : core::Json::array({in});
      for (const auto& item : list) {
        if (!item.is_string())
          return absl::StrCat("Expected a list of items but got type \"", TypeName(in), "\".");
      }
      out = std::move(list);
      return "";
    }
    case Field::kObject:
    case Field::kLabels: {
      core::Json obj = in;
      if (is_form && in.is_string()) {
        obj = core::Json::parse(in.get<std::string>(), nullptr, false);
        if (obj.is_discarded()) return "Value must be valid JSON.";
      }
      if (!obj.is_object()) {
        return absl::StrCat("Expected a dictionary of items but got type \"", TypeName(obj), "\".");
      }
      if (f.kind == Field::kLabels) {
        static const std::regex kKey(R"(^[\w .\-]+$)");
        for (auto it = obj.begin(); it != obj.end(); ++it) {
          if (!std::regex_match(it.key(), kKey)) {
            return absl::StrCat("Key '", it.key(), "' contains non-alphanumerics.");
          }
          if (!it.value().is_null() && !it.value().is_string()) return "Not a valid string.";
          if (it.value().is_string() &&
              it.value().get<std::string>().find_first_of("()") != std::string::npos) {
            return absl::StrCat("Key '", it.key(), "' contains value with parentheses.");
          }
        }
      }
      out = std::move(obj);
      return "";
    }
    case Field::kFile:
      return "The submitted data was not a file. Check the encoding type on the form.";
    case Field::kAny:
      out = in;
      return "";
  }
  return "";
}

}  // namespace

core::Json ValidateFields(const RequestData& data, const std::vector<Field>& fields, bool partial) {
  core::Json errors = core::Json::object();
  core::Json out = core::Json::object();
  for (const Field& f : fields) {
    if (f.kind == Field::kFile) {
      if (data.files.count(f.name)) {
        out[f.name] = true;
      } else if (data.fields.contains(f.name)) {
        const auto& v = data.fields[f.name];
        if (!(v.is_string() && v.get<std::string>().empty()) && !v.is_null()) {
          errors[f.name] = {
              "The submitted data was not a file. Check the encoding type on the form."};
        } else if (f.required && !partial) {
          errors[f.name] = {"No file was submitted."};
        }
      } else if (f.required && !partial) {
        errors[f.name] = {"No file was submitted."};
      }
      continue;
    }
    if (!data.fields.contains(f.name)) {
      if (f.required && !partial) errors[f.name] = {messages::kRequired};
      continue;
    }
    const core::Json& in = data.fields[f.name];
    // A form sends a repeated key as a list; scalar fields take the last value, as Django does.
    const core::Json& value =
        (data.is_form && in.is_array() && f.kind != Field::kStringList) ? in.back() : in;
    core::Json normalized;
    std::string err = ValidateOne(f, value, data.is_form, normalized);
    if (!err.empty()) {
      errors[f.name] = {err};
    } else {
      out[f.name] = std::move(normalized);
    }
  }
  for (auto it = data.fields.begin(); it != data.fields.end(); ++it) {
    if (it.key() == "csrfmiddlewaretoken") continue;
    bool known = false;
    for (const Field& f : fields) known = known || f.name == it.key();
    if (!known) errors[it.key()] = {messages::kUnexpected};
  }
  for (const auto& [name, file] : data.files) {
    bool known = false;
    for (const Field& f : fields) known = known || (f.name == name && f.kind == Field::kFile);
    if (!known) errors[name] = {messages::kUnexpected};
  }
  if (!errors.empty()) throw ApiError(400, errors);
  return out;
}

}  // namespace pulp::core::http
