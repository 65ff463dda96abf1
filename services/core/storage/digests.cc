#include "services/core/storage/digests.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace pulp::core::storage {

struct MultiHasher::Impl {
  std::vector<std::pair<std::string, EVP_MD_CTX*>> contexts;
};

const std::vector<std::string>& AllChecksums() {
  static const std::vector<std::string> kAll = {"md5",    "sha1",   "sha224",
                                                "sha256", "sha384", "sha512"};
  return kAll;
}

MultiHasher::MultiHasher(const std::vector<std::string>& algorithms) : impl_(new Impl) {
  for (const std::string& name : algorithms) {
    const EVP_MD* md = EVP_get_digestbyname(name.c_str());
    if (md == nullptr) std::abort();  // names come from validated settings: a bug otherwise
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, md, nullptr);
    impl_->contexts.emplace_back(name, ctx);
  }
}

MultiHasher::~MultiHasher() {
  for (auto& [name, ctx] : impl_->contexts) EVP_MD_CTX_free(ctx);
}

void MultiHasher::Update(const char* data, size_t n) {
  for (auto& [name, ctx] : impl_->contexts) EVP_DigestUpdate(ctx, data, n);
}

std::map<std::string, std::string> MultiHasher::Finish() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::map<std::string, std::string> out;
  for (auto& [name, ctx] : impl_->contexts) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
      hex.push_back(kHex[md[i] >> 4]);
      hex.push_back(kHex[md[i] & 15]);
    }
    out[name] = std::move(hex);
  }
  return out;
}

}  // namespace pulp::core::storage
