#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pulp::core::storage {

// Computes several digests (md5 ... sha512) in one pass over the data.
class MultiHasher {
 public:
  explicit MultiHasher(const std::vector<std::string>& algorithms);
  ~MultiHasher();
  MultiHasher(const MultiHasher&) = delete;
  MultiHasher& operator=(const MultiHasher&) = delete;

  void Update(const char* data, size_t n);
  // algorithm → lower-case hex; call once.
  std::map<std::string, std::string> Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The digest names upstream knows, strongest last.
const std::vector<std::string>& AllChecksums();

}  // namespace pulp::core::storage
