#include "services/core/rpc/content_notifier.h"

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <iostream>
#include <mutex>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "pulp/v1/content.grpc.pb.h"
#include "services/core/app_context.h"
#include "services/core/db/pool.h"
#include "services/core/rpc/server_internal.h"

namespace pulp::core::rpc {

void InvalidateContentCaches(AppContext& app, const std::string& reason) {
  std::vector<std::string> addresses;
  try {
    auto lease = app.pool->Acquire(std::chrono::seconds(2));
    if (!lease.ok()) return;
    pqxx::nontransaction tx(**lease);
    for (const auto& row : tx.exec(absl::StrCat(
             "SELECT grpc_address FROM core_appstatus WHERE app_type = 'content' AND"
             " grpc_address IS NOT NULL AND last_heartbeat > clock_timestamp() - interval '",
             app.settings.content_app_ttl, " seconds'"))) {
      addresses.push_back(row[0].as<std::string>());
    }
  } catch (const std::exception& e) {
    std::cerr << "content cache invalidation: " << e.what() << std::endl;
    return;
  }
  if (addresses.empty()) return;

  // Every app at once; the call returns when all answered or the deadline passed.
  struct Call {
    grpc::ClientContext ctx;
    pulp::v1::InvalidateRequest req;
    pulp::v1::InvalidateResponse res;
    std::unique_ptr<pulp::v1::ContentCache::Stub> stub;
  };
  std::vector<std::unique_ptr<Call>> calls;
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = addresses.size();
  for (const auto& address : addresses) {
    auto call = std::make_unique<Call>();
    call->ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
    call->req.set_reason(reason);
    call->stub = pulp::v1::ContentCache::NewStub(ChannelTo(address));
    call->stub->async()->Invalidate(&call->ctx, &call->req, &call->res,
                                    [&, address](grpc::Status st) {
                                      if (!st.ok()) {
                                        std::cerr << "content cache invalidation at " << address
                                                  << ": " << st.error_message() << std::endl;
                                      }
                                      std::lock_guard lock(mu);
                                      if (--pending == 0) cv.notify_all();
                                    });
    calls.push_back(std::move(call));
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
}

}  // namespace pulp::core::rpc
