#include "services/core/http/router.h"

#include "absl/strings/str_split.h"

namespace pulp::core::http {

std::vector<std::string> SplitPath(const std::string& path) {
  return absl::StrSplit(path, '/', absl::SkipEmpty());
}

void Router::Add(Route route) {
  segments_.push_back(SplitPath(route.pattern));
  routes_.push_back(std::move(route));
}

Router::Match Router::Find(Request& request) const {
  // Paths without the trailing slash are served as if it were there: upstream redirects them,
  // and a redirect breaks pulp-cli (max_redirects = 0).
  const std::vector<std::string> parts = SplitPath(request.path);
  Match match;
  const std::string method = request.method == "HEAD" ? "GET" : request.method;
  // The most literal pattern wins: ".../files/upload/" before ".../files/{pulp_id}/".
  int best_score = -1;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const auto& pattern = segments_[i];
    if (pattern.size() != parts.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    int score = 0;
    for (size_t s = 0; s < parts.size() && ok; ++s) {
      const std::string& p = pattern[s];
      if (p.size() > 2 && p.front() == '{' && p.back() == '}') {
        params[p.substr(1, p.size() - 2)] = parts[s];
      } else {
        ok = p == parts[s];
        ++score;
      }
    }
    if (!ok) continue;
    if (routes_[i].method == method) {
      if (score > best_score) {
        best_score = score;
        match.route = &routes_[i];
        request.path_params = std::move(params);
      }
    } else {
      match.allowed_methods.push_back(routes_[i].method);
    }
  }
  if (match.route != nullptr) return match;
  match.error_status = match.allowed_methods.empty() ? 404 : 405;
  return match;
}

}  // namespace pulp::core::http
