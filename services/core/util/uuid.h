#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace pulp::core {

// A new UUIDv7 (time-ordered, like upstream's primary keys) in canonical lower-case form.
std::string NewUuid();

// True for a canonical 8-4-4-4-12 hex UUID (either case), which is what a pk segment must be.
bool IsUuid(absl::string_view s);

// 32 lower-case hex characters from a CSPRNG: correlation ids, salts, secrets.
std::string RandomHex(size_t bytes);

}  // namespace pulp::core
