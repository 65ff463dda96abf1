#pragma once

// One spelling of the JSON type for the whole code base.
#include <nlohmann/json.hpp>

namespace pulp::core {
using Json = nlohmann::ordered_json;  // field order in bodies follows upstream's serializers

// Serializes for the wire; invalid UTF-8 in stored strings is replaced rather than thrown on.
std::string DumpJson(const Json& j);

// Strict UTF-8 check for text that arrives outside JSON (form fields, paths).
bool IsValidUtf8(std::string_view s);
}  // namespace pulp::core
