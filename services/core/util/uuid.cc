#include "services/core/util/uuid.h"

#include <openssl/rand.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/ascii.h"

namespace pulp::core {
namespace {

void FillRandom(unsigned char* out, size_t n) {
  // RAND_bytes only fails when the kernel's entropy source is gone: nothing sane can continue.
  if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

std::string NewUuid() {
  unsigned char b[16];
  FillRandom(b, sizeof b);
  const uint64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));
  b[6] = static_cast<unsigned char>(0x70 | (b[6] & 0x0f));  // version 7
  b[8] = static_cast<unsigned char>(0x80 | (b[8] & 0x3f));  // RFC 4122 variant
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[b[i] >> 4]);
    s.push_back(kHex[b[i] & 0xf]);
  }
  return s;
}

bool IsUuid(absl::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  FillRandom(reinterpret_cast<unsigned char*>(raw.data()), bytes);
  std::string s;
  s.reserve(bytes * 2);
  for (unsigned char c : raw) {
    s.push_back(kHex[c >> 4]);
    s.push_back(kHex[c & 0xf]);
  }
  return s;
}

}  // namespace pulp::core
