#include "services/core/rpc/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "pulp/v1/content.grpc.pb.h"
#include "pulp/v1/tasking.grpc.pb.h"
#include "services/core/rpc/server_internal.h"

namespace pulp::core::rpc {
namespace {

class ContentCacheService final : public pulp::v1::ContentCache::Service {
 public:
  explicit ContentCacheService(decltype(Services::invalidate_content) fn) : fn_(std::move(fn)) {}
  grpc::Status Invalidate(grpc::ServerContext*, const pulp::v1::InvalidateRequest* req,
                          pulp::v1::InvalidateResponse* res) override {
    std::vector<std::string> paths(req->base_paths().begin(), req->base_paths().end());
    res->set_dropped(fn_(paths, req->reason()));
    return grpc::Status::OK;
  }

 private:
  decltype(Services::invalidate_content) fn_;
};

class TaskControlService final : public pulp::v1::TaskControl::Service {
 public:
  explicit TaskControlService(decltype(Services::cancel_task) fn) : fn_(std::move(fn)) {}
  grpc::Status CancelTask(grpc::ServerContext*, const pulp::v1::CancelTaskRequest* req,
                          pulp::v1::CancelTaskResponse* res) override {
    if (req->task_id().empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "task_id is required");
    }
    res->set_signalled(fn_(req->task_id()));
    return grpc::Status::OK;
  }

 private:
  decltype(Services::cancel_task) fn_;
};

class GrpcServer : public Server {
 public:
  const std::string& address() const override { return address_; }
  void SetServing(bool serving) override {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
  }
  void SetServing(const std::string& service, bool serving) override {
    if (auto* health = server_->GetHealthCheckService()) {
      health->SetServingStatus(service, serving);
    }
  }
  void Stop() override {
    if (stopped_) return;
    stopped_ = true;
    SetServing(false);
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  }
  ~GrpcServer() override { Stop(); }

  std::unique_ptr<ContentCacheService> content_;
  std::unique_ptr<TaskControlService> tasks_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  bool stopped_ = false;
};

// The process's TLS material (PEM), empty when gRPC runs in plaintext.
struct TlsMaterial {
  std::string cert, key, ca;
};
TlsMaterial& Tls() {
  static TlsMaterial tls;
  return tls;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials() {
  const TlsMaterial& tls = Tls();
  if (tls.cert.empty()) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.ca;
  options.pem_key_cert_pairs.push_back({tls.key, tls.cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* setting) {
  std::ifstream in(path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) data.clear();
  if (data.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Invalid setting ", setting, ": cannot read a PEM file at ", path));
  }
  return data;
}

std::string HostOf(const std::string& bind) {
  const size_t colon = bind.rfind(':');
  return colon == std::string::npos ? bind : bind.substr(0, colon);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                                      Services services) {
  return StartWith(options, std::move(services), {});
}

absl::StatusOr<std::unique_ptr<Server>> StartWith(const ServerOptions& options, Services services,
                                                  const std::vector<grpc::Service*>& extra) {
  grpc::EnableDefaultHealthCheckService(true);
  // Reflection lets grpcurl and friends list what a process serves; it is also the one
  // synchronous service every process has, which gRPC 1.51 needs beside the health service.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  auto out = std::make_unique<GrpcServer>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.bind, ServerCredentials(), &port);
  if (services.invalidate_content) {
    out->content_ = std::make_unique<ContentCacheService>(std::move(services.invalidate_content));
    builder.RegisterService(out->content_.get());
  }
  if (services.cancel_task) {
    out->tasks_ = std::make_unique<TaskControlService>(std::move(services.cancel_task));
    builder.RegisterService(out->tasks_.get());
  }
  for (grpc::Service* service : extra) builder.RegisterService(service);
  out->server_ = builder.BuildAndStart();
  if (!out->server_ || port == 0) {
    return absl::UnavailableError("cannot serve gRPC on " + options.bind);
  }
  std::string host = options.advertise_host.empty() ? HostOf(options.bind) : options.advertise_host;
  if (host.empty() || host == "0.0.0.0" || host == "[::]" || host == "::") {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    host = name;
  }
  out->address_ = absl::StrCat(host, ":", port);
  out->SetServing(true);
  return std::unique_ptr<Server>(std::move(out));
}

std::shared_ptr<grpc::Channel> ChannelTo(const std::string& address) {
  // Channels are reused: each holds a connection.
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<grpc::Channel>> channels;
  std::lock_guard lock(mu);
  auto& ch = channels[address];
  if (!ch) {
    const TlsMaterial& tls = Tls();
    ch = grpc::CreateChannel(address, tls.cert.empty()
                                          ? grpc::InsecureChannelCredentials()
                                          : grpc::SslCredentials({tls.ca, tls.key, tls.cert}));
  }
  return ch;
}

absl::Status ConfigureTls(const Settings::GrpcTls& settings) {
  if (!settings.enabled()) return absl::OkStatus();
  auto cert = ReadPem(settings.cert_file, "GRPC_TLS_CERT");
  if (!cert.ok()) return cert.status();
  auto key = ReadPem(settings.key_file, "GRPC_TLS_KEY");
  if (!key.ok()) return key.status();
  auto ca = ReadPem(settings.ca_file, "GRPC_TLS_CA");
  if (!ca.ok()) return ca.status();
  Tls() = {*cert, *key, *ca};
  return absl::OkStatus();
}

}  // namespace pulp::core::rpc
