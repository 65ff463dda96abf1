#pragma once

// For the rpc/ files only (they include gRPC anyway): a server with services of their own.

#include <grpcpp/grpcpp.h>

#include <vector>

#include "services/core/rpc/server.h"

namespace pulp::core::rpc {

// Server::Start plus `extra` services (owned by the caller, outliving the server).
absl::StatusOr<std::unique_ptr<Server>> StartWith(const ServerOptions& options, Services services,
                                                  const std::vector<grpc::Service*>& extra);

// A channel to `address`, shared by every call this process makes there.
std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address);

}  // namespace pulp::core::rpc
