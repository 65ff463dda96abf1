#include "services/core/download/downloader.h"

#include <curl/curl.h>

#include <cstdio>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "services/core/storage/artifact_store.h"
#include "services/core/util/uuid.h"

namespace pulp::core::download {
namespace {

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string UserAgent() { return "pulpcore/3.117.0 (C++) (libcurl)"; }

// Applies a remote's settings to an easy handle. `headers` must outlive the transfer.
void Configure(CURL* h, const Options& o, curl_slist** headers) {
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, UserAgent().c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o.tls_validation ? 1L : 0L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.tls_validation ? 2L : 0L);
  if (!o.ca_cert.empty()) {
    curl_blob blob{const_cast<char*>(o.ca_cert.data()), o.ca_cert.size(), CURL_BLOB_COPY};
    curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
  }
  if (!o.proxy_url.empty()) curl_easy_setopt(h, CURLOPT_PROXY, o.proxy_url.c_str());
  if (!o.proxy_username.empty()) {
    curl_easy_setopt(h, CURLOPT_PROXYUSERNAME, o.proxy_username.c_str());
    curl_easy_setopt(h, CURLOPT_PROXYPASSWORD, o.proxy_password.c_str());
  }
  if (!o.username.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, o.username.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, o.password.c_str());
  }
  if (o.connect_timeout > 0) {
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout * 1000));
  }
  if (o.total_timeout > 0) {
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(o.total_timeout * 1000));
  }
  // A server that stops sending is abandoned; aiohttp's sock_read_timeout, 300 s by default.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(o.sock_read_timeout > 0 ? o.sock_read_timeout : 300));
  for (const auto& hdr : o.headers) *headers = curl_slist_append(*headers, hdr.c_str());
  if (*headers != nullptr) curl_easy_setopt(h, CURLOPT_HTTPHEADER, *headers);
}

std::string HttpError(CURL* h, CURLcode code, const std::string& url) {
  if (code != CURLE_OK)
    return absl::StrCat("Could not download ", url, ": ", curl_easy_strerror(code));
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 400) return absl::StrCat(status, ", message='HTTP error', url='", url, "'");
  return "";
}

struct Transfer {
  const Request* request = nullptr;
  Result* result = nullptr;
  CURL* handle = nullptr;
  curl_slist* headers = nullptr;
  std::string write_error;
};

size_t WriteToFile(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (auto st = t->result->file->Write(data, size * n); !st.ok()) {
    t->write_error = std::string(st.message());
    return 0;
  }
  return size * n;
}

size_t WriteToString(char* data, size_t size, size_t n, void* user) {
  auto* out = static_cast<std::pair<std::string, size_t>*>(user);
  if (out->first.size() + size * n > out->second) return 0;
  out->first.append(data, size * n);
  return size * n;
}

struct StreamState {
  CURL* handle = nullptr;
  const std::function<bool(const char*, size_t)>* on_data = nullptr;
  long status = 0;
  bool stopped = false;
};

size_t WriteToCallback(char* data, size_t size, size_t n, void* user) {
  auto* s = static_cast<StreamState*>(user);
  if (s->status == 0) curl_easy_getinfo(s->handle, CURLINFO_RESPONSE_CODE, &s->status);
  if (s->status >= 400) return 0;  // an error page is not the content
  if (!(*s->on_data)(data, size * n)) {
    s->stopped = true;
    return 0;
  }
  return size * n;
}

}  // namespace

Options Options::FromRemote(const Json& r) {
  Options o;
  auto str = [&](const char* k) {
    return r.contains(k) && r[k].is_string() ? r[k].get<std::string>() : std::string();
  };
  auto num = [&](const char* k) {
    return r.contains(k) && r[k].is_number() ? r[k].get<double>() : 0.0;
  };
  o.tls_validation = r.value("tls_validation", true);
  o.ca_cert = str("ca_cert");
  o.proxy_url = str("proxy_url");
  o.proxy_username = str("proxy_username");
  o.proxy_password = str("proxy_password");
  o.username = str("username");
  o.password = str("password");
  o.connect_timeout = num("connect_timeout");
  o.total_timeout = num("total_timeout");
  o.sock_read_timeout = num("sock_read_timeout");
  if (r.contains("download_concurrency") && r["download_concurrency"].is_number_integer()) {
    o.concurrency = std::max(1, r["download_concurrency"].get<int>());
  }
  if (r.contains("headers") && r["headers"].is_array()) {
    for (const auto& h : r["headers"]) {
      for (auto it = h.begin(); it != h.end(); ++it) {
        if (it.value().is_string())
          o.headers.push_back(it.key() + ": " + it.value().get<std::string>());
      }
    }
  }
  return o;
}

absl::StatusOr<std::string> FetchText(const std::string& url, const Options& options,
                                      size_t max_bytes) {
  GlobalInit();
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  Configure(h, options, &headers);
  std::pair<std::string, size_t> out{"", max_bytes};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteToString);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &out);
  const CURLcode code = curl_easy_perform(h);
  std::string error = HttpError(h, code, url);
  if (code == CURLE_WRITE_ERROR) error = absl::StrCat(url, " is larger than ", max_bytes, " bytes");
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  if (!error.empty()) return absl::UnavailableError(error);
  return std::move(out.first);
}

std::vector<Result> DownloadAll(storage::ArtifactStore& store, const std::vector<Request>& requests,
                                const Options& options,
                                const std::function<void(size_t)>& on_finished) {
  GlobalInit();
  std::vector<Result> results(requests.size());
  std::vector<Transfer> transfers(requests.size());
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, static_cast<long>(options.concurrency));
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options.concurrency));
  size_t next = 0, active = 0, finished = 0;
  auto start_more = [&] {
    while (next < requests.size() && active < static_cast<size_t>(options.concurrency)) {
      Transfer& t = transfers[next];
      t.request = &requests[next];
      t.result = &results[next];
      ++next;
      auto writer = store.NewWriter();
      if (!writer.ok()) {
        t.result->error = std::string(writer.status().message());
        continue;
      }
      t.result->file = std::move(*writer);
      t.handle = curl_easy_init();
      Configure(t.handle, options, &t.headers);
      curl_easy_setopt(t.handle, CURLOPT_URL, t.request->url.c_str());
      curl_easy_setopt(t.handle, CURLOPT_WRITEFUNCTION, WriteToFile);
      curl_easy_setopt(t.handle, CURLOPT_WRITEDATA, &t);
      curl_easy_setopt(t.handle, CURLOPT_PRIVATE, &t);
      curl_multi_add_handle(multi, t.handle);
      ++active;
    }
  };
  start_more();
  int running = 0;
  do {
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&t));
      std::string error = !t->write_error.empty()
                              ? t->write_error
                              : HttpError(t->handle, msg->data.result, t->request->url);
      if (error.empty()) {
        if (auto st = t->result->file->Finish(); !st.ok()) error = std::string(st.message());
      }
      if (error.empty() && t->request->expected_size &&
          static_cast<int64_t>(t->result->file->size()) != *t->request->expected_size) {
        error = absl::StrCat("A file located at the url ", t->request->url,
                             " failed validation due to size. Expected ",
                             *t->request->expected_size, ", got ", t->result->file->size(), ".");
      }
      if (error.empty() && !t->request->expected_sha256.empty() &&
          t->result->file->digests().at("sha256") != t->request->expected_sha256) {
        error = absl::StrCat("A file located at the url ", t->request->url,
                             " failed validation due to checksum. Expected '",
                             t->request->expected_sha256, "', got '",
                             t->result->file->digests().at("sha256"), "'.");
      }
      if (!error.empty()) {
        t->result->error = error;
        t->result->file.reset();  // the temporary file goes with it
      }
      curl_multi_remove_handle(multi, t->handle);
      curl_easy_cleanup(t->handle);
      curl_slist_free_all(t->headers);
      t->handle = nullptr;
      --active;
      if (on_finished) on_finished(++finished);
      start_more();
    }
    if (running > 0 || active > 0) curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  } while (running > 0 || active > 0);
  curl_multi_cleanup(multi);
  return results;
}

absl::Status Stream(const std::string& url, const Options& options,
                    const std::function<bool(const char*, size_t)>& on_data, long* http_status) {
  GlobalInit();
  CURL* h = curl_easy_init();
  curl_slist* headers = nullptr;
  Configure(h, options, &headers);
  StreamState state{h, &on_data};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteToCallback);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &state);
  const CURLcode code = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (http_status != nullptr) *http_status = status;
  absl::Status out;
  if (state.stopped) {
    out = absl::CancelledError("stopped by the receiver");
  } else if (status >= 400) {
    out = absl::UnavailableError(absl::StrCat(status, ", message='HTTP error', url='", url, "'"));
  } else if (code != CURLE_OK) {
    out = absl::UnavailableError(HttpError(h, code, url));
  }
  curl_easy_cleanup(h);
  curl_slist_free_all(headers);
  return out;
}

}  // namespace pulp::core::download
