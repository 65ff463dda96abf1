#include "services/core/tasking/dispatcher.h"

#include <iostream>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/http/errors.h"
#include "services/core/util/uuid.h"

namespace pulp::core::tasking {
namespace {

std::string PgTextArray(pqxx::transaction_base& tx, const std::vector<std::string>& items) {
  std::string out = "ARRAY[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ",";
    out += tx.quote(items[i]);
  }
  out += "]::text[]";
  return out;
}

}  // namespace

std::string TaskHref(const AppContext& app, const std::string& pk) {
  return absl::StrCat(app.ApiV3(), "tasks/", pk, "/");
}

std::string Dispatcher::Dispatch(const DispatchRequest& request) {
  const std::string pk = NewUuid();
  std::vector<std::string> record = request.exclusive_resources;
  for (const auto& s : request.shared_resources) record.push_back("shared:" + s);
  record.push_back("shared:" + app_.DomainPrn());

  auto lease = app_.pool->Acquire();
  if (!lease.ok()) throw http::FromStatus(lease.status());
  {
    pqxx::work tx(**lease);
    tx.exec(absl::StrCat(
        "INSERT INTO core_task (pulp_id, pulp_domain_id, state, name, logging_cid, created_by_id,"
        " args, kwargs, reserved_resources_record, immediate, deferred, unblocked_at, started_at)"
        " VALUES (",
        tx.quote(pk), ", ", tx.quote(app_.default_domain_id), ", 'running', ",
        tx.quote(request.name), ", ", tx.quote(request.logging_cid), ", ",
        request.created_by ? absl::StrCat(*request.created_by) : "NULL", ", ",
        tx.quote(DumpJson(request.args)), "::jsonb, ", tx.quote(DumpJson(request.kwargs)),
        "::jsonb, ", PgTextArray(tx, record), ", ", request.immediate ? "TRUE" : "FALSE",
        ", TRUE, clock_timestamp(), clock_timestamp())"));
    tx.commit();
  }

  TaskContext ctx(app_, pk);
  Json result;
  Json error;
  const TaskFunction* fn = app_.task_registry->Find(request.name);
  if (fn == nullptr) {
    error = Json{{"description", absl::StrCat("Unknown task ", request.name)}, {"traceback", ""}};
  } else {
    try {
      result = (*fn)(ctx, request.args, request.kwargs);
    } catch (const http::ApiError& e) {
      // Validation inside a task fails the task with the serializer's message.
      error = Json{{"description", DumpJson(e.body())}, {"traceback", ""}};
    } catch (const std::exception& e) {
      error = Json{{"description", e.what()}, {"traceback", ""}};
    }
  }
  try {
    pqxx::work tx(**lease);
    tx.exec(absl::StrCat(
        "UPDATE core_task SET state = ", error.is_null() ? "'completed'" : "'failed'",
        ", finished_at = clock_timestamp(), pulp_last_updated = clock_timestamp(), error = ",
        error.is_null() ? "NULL" : tx.quote(DumpJson(error)) + "::jsonb", ", result = ",
        result.is_null() ? "NULL" : tx.quote(DumpJson(result)) + "::jsonb",
        ", created_resources = ", PgTextArray(tx, ctx.created_hrefs()),
        ", created_resource_prns = ", PgTextArray(tx, ctx.created_prns()),
        " WHERE pulp_id = ", tx.quote(pk)));
    tx.commit();
  } catch (const std::exception& e) {
    std::cerr << "task " << pk << ": could not record its end: " << e.what() << std::endl;
    throw;
  }
  return pk;
}

}  // namespace pulp::core::tasking
