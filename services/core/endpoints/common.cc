#include "services/core/endpoints/common.h"

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/tasking/dispatcher.h"

namespace pulp::core::endpoints {

Json ModelFields(const pqxx::row& row, const std::string& href_prefix,
                 const std::string& prn_type) {
  const std::string pk = row["pulp_id"].as<std::string>();
  Json j;
  j["pulp_href"] = absl::StrCat(href_prefix, pk, "/");
  j["prn"] = absl::StrCat("prn:", prn_type, ":", pk);
  j["pulp_created"] = row["pulp_created"].as<std::string>();
  j["pulp_last_updated"] = row["pulp_last_updated"].as<std::string>();
  return j;
}

Json TextOrNull(const pqxx::row& row, const char* column) {
  const auto& f = row[column];
  return f.is_null() ? Json(nullptr) : Json(f.as<std::string>());
}

http::Response TaskAccepted(const AppContext& app, const std::string& task_pk) {
  return http::Response::Json(202, Json{{"task", tasking::TaskHref(app, task_pk)}});
}

http::Response Created(const Json& object) {
  auto r = http::Response::Json(201, object);
  if (object.contains("pulp_href")) r.SetHeader("Location", object["pulp_href"].get<std::string>());
  return r;
}

std::optional<int64_t> RequesterId(const http::Request& request) {
  if (!request.user) return std::nullopt;
  return request.user->id;
}

}  // namespace pulp::core::endpoints
