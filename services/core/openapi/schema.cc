#include "services/core/openapi/schema.h"

namespace pulp::core::openapi {

Json Ref(const std::string& component) {
  return Json{{"$ref", "#/components/schemas/" + component}};
}

Json JsonResponse(const std::string& description, const Json& schema) {
  return Json{{"description", description},
              {"content", {{"application/json", {{"schema", schema}}}}}};
}

Json EmptyResponse(const std::string& description) { return Json{{"description", description}}; }

Json PaginatedResponse(Schemas& schemas, const std::string& item_component) {
  const std::string name = "Paginated" + item_component + "List";
  schemas[name] = Json{{"type", "object"},
                       {"required", {"count", "results"}},
                       {"properties",
                        {{"count", {{"type", "integer"}, {"example", 123}}},
                         {"next", {{"type", "string"}, {"nullable", true}, {"format", "uri"}}},
                         {"previous", {{"type", "string"}, {"nullable", true}, {"format", "uri"}}},
                         {"results", {{"type", "array"}, {"items", Ref(item_component)}}}}}};
  return JsonResponse("", Ref(name));
}

Json AsyncResponse(Schemas& schemas) {
  schemas["AsyncOperationResponse"] =
      Json{{"type", "object"},
           {"description", "Serializer for asynchronous operations."},
           {"properties",
            {{"task",
              {{"type", "string"}, {"format", "uri"}, {"description", "The href of the task."}}}}},
           {"required", {"task"}}};
  return JsonResponse("", Ref("AsyncOperationResponse"));
}

Json RequestBody(const std::string& component, const std::vector<std::string>& media_types,
                 bool required) {
  Json content = Json::object();
  for (const auto& m : media_types) content[m] = {{"schema", Ref(component)}};
  return Json{{"content", content}, {"required", required}};
}

Json ModelResponseProperties() {
  return Json{
      {"pulp_href", {{"type", "string"}, {"format", "uri"}, {"readOnly", true}}},
      {"prn",
       {{"type", "string"}, {"readOnly", true}, {"description", "The Pulp Resource Name (PRN)."}}},
      {"pulp_created",
       {{"type", "string"},
        {"format", "date-time"},
        {"readOnly", true},
        {"description", "Timestamp of creation."}}},
      {"pulp_last_updated",
       {{"type", "string"},
        {"format", "date-time"},
        {"readOnly", true},
        {"description", "Timestamp of the last time this resource was updated."}}}};
}

}  // namespace pulp::core::openapi
