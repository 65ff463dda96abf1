#include "services/core/content/remote_content.h"

#include <chrono>
#include <iostream>
#include <pqxx/pqxx>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/core/app_context.h"
#include "services/core/content/file_response.h"
#include "services/core/db/pool.h"
#include "services/core/download/downloader.h"
#include "services/core/models/artifact.h"
#include "services/core/storage/artifact_store.h"

namespace pulp::core::content {

std::vector<RemoteSource> FindRemoteSources(pqxx::transaction_base& tx,
                                            const std::string& publication_pk,
                                            const std::string& rel) {
  pqxx::result rows = tx.exec(absl::StrCat(
      "SELECT ca.pulp_id::text, ra.pulp_id::text, ra.url, ra.size, ra.sha256, r.policy,"
      " row_to_json(r)::text FROM core_publication p JOIN core_repositoryversion v ON"
      " v.pulp_id = p.repository_version_id JOIN core_repositorycontent rc ON"
      " rc.repository_id = v.repository_id AND rc.version_added <= v.number AND"
      " (rc.version_removed IS NULL OR rc.version_removed > v.number) JOIN"
      " core_contentartifact ca ON ca.content_id = rc.content_id AND ca.relative_path = ",
      tx.quote(rel),
      " JOIN core_remoteartifact ra ON ra.content_artifact_id = ca.pulp_id JOIN core_remote r ON"
      " r.pulp_id = ra.remote_id WHERE p.pulp_id = ",
      tx.quote(publication_pk),
      "::uuid AND p.pass_through AND ca.artifact_id IS NULL AND (ra.failed_at IS NULL OR"
      " ra.failed_at < clock_timestamp() - interval '300 seconds') ORDER BY ra.pulp_created"));
  std::vector<RemoteSource> out;
  for (const auto& row : rows) {
    RemoteSource s;
    s.content_artifact_pk = row[0].as<std::string>();
    s.remote_artifact_pk = row[1].as<std::string>();
    s.url = row[2].as<std::string>();
    if (!row[3].is_null()) s.size = row[3].as<int64_t>();
    s.sha256 = row[4].is_null() ? "" : row[4].as<std::string>();
    s.policy = row[5].as<std::string>();
    s.remote = Json::parse(row[6].as<std::string>());
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

// One download that concurrent requests for the same content share.
struct Flight {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  std::string stored_path ABSL_GUARDED_BY(mu);  // the saved artifact's file, on success
  std::string error ABSL_GUARDED_BY(mu);
  absl::Time finished ABSL_GUARDED_BY(mu);
};

struct Fetched {
  std::unique_ptr<storage::FileWriter> file;
  const RemoteSource* source = nullptr;
};

struct FetchError {
  std::string message;
  long http_status = 0;  // the remote's error status, if it answered with one
  bool sent_any = false;
};

}  // namespace

class RemoteContent::Impl {
 public:
  explicit Impl(AppContext& app) : app_(app) {}

  http::Response Serve(const http::Request& req, const std::vector<RemoteSource>& sources,
                       const std::string& rel) {
    const RemoteSource& first = sources.front();
    if (req.method == "HEAD") {
      http::Response r = http::Response::Empty(200);
      r.content_type = MimeType(rel);
      if (first.size) r.SetHeader("X-PULP-ARTIFACT-SIZE", absl::StrCat(*first.size));
      return r;
    }
    const bool ranged = !req.Header("range").empty();
    if (first.policy == "streamed")
      return ranged ? FetchThenServe(req, sources, rel) : Stream(sources, rel, nullptr);

    // on_demand: one download per content, shared.
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      absl::MutexLock lock(&mu_);
      Prune();
      auto& slot = flights_[first.content_artifact_pk];
      if (!slot || Failed(*slot)) {  // a failed download is tried again, not shared
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (!leader) return Await(req, *flight, rel);
    if (ranged) {
      // The whole file is fetched and saved first; the range then comes from storage.
      auto done = std::make_shared<Completion>(flight);
      FetchError error;
      auto fetched = Fetch(sources, nullptr, &error);
      if (!fetched) {
        done->Fail(error.message);
        return ErrorResponse(error);
      }
      const std::string path = Save(*fetched);
      done->Succeed(path);
      return path.empty() ? Text(503, "503: Service Unavailable") : ServeFile(req, path, rel);
    }
    return Stream(sources, rel, std::make_shared<Completion>(flight));
  }

 private:
  // Ends a flight exactly once, failing it if its download never ran (the response was dropped).
  class Completion {
   public:
    explicit Completion(std::shared_ptr<Flight> f) : flight_(std::move(f)) {}
    ~Completion() { Fail("the download was abandoned"); }
    void Succeed(const std::string& path) { End(path, ""); }
    void Fail(const std::string& error) { End("", error); }

   private:
    void End(const std::string& path, const std::string& error) {
      absl::MutexLock lock(&flight_->mu);
      if (flight_->done) return;
      flight_->done = true;
      flight_->stored_path = path;
      flight_->error = error.empty() && path.empty() ? "the file could not be saved" : error;
      flight_->finished = absl::Now();
    }
    std::shared_ptr<Flight> flight_;
  };

  // Streams the content to the client as it downloads; with `done`, saves it (on_demand).
  http::Response Stream(const std::vector<RemoteSource>& sources, const std::string& rel,
                        std::shared_ptr<Completion> done) {
    http::Response r;
    r.status = 200;
    r.content_type = MimeType(rel);
    if (sources.front().size) {
      r.SetHeader("X-PULP-ARTIFACT-SIZE", absl::StrCat(*sources.front().size));
    }
    r.stream = [this, sources, done](http::BodySink& sink) {
      FetchError error;
      auto fetched = Fetch(sources, &sink, &error);
      if (!fetched) {
        if (done) done->Fail(error.message);
        if (!error.sent_any) sink.Replace(ErrorResponse(error));
        return false;
      }
      if (done) done->Succeed(Save(*fetched));
      return true;
    };
    return r;
  }

  // streamed + Range: fetch into a temporary file, serve the range from it, then drop it.
  http::Response FetchThenServe(const http::Request& req, const std::vector<RemoteSource>& sources,
                                const std::string& rel) {
    FetchError error;
    auto fetched = Fetch(sources, nullptr, &error);
    if (!fetched) return ErrorResponse(error);
    http::Response r = ServeFile(req, fetched->file->temp_path(), rel);
    r.hold = std::shared_ptr<storage::FileWriter>(std::move(fetched->file));
    return r;
  }

  http::Response Await(const http::Request& req, Flight& flight, const std::string& rel) {
    std::string path, error;
    {
      absl::MutexLock lock(&flight.mu);
      const bool done = flight.mu.AwaitWithTimeout(absl::Condition(
                                                       +[](bool* d) { return *d; }, &flight.done),
                                                   absl::Minutes(10));
      if (!done) return Text(504, "504: Gateway Timeout");
      path = flight.stored_path;
      error = flight.error;
    }
    if (path.empty()) return Text(502, "502: Bad Gateway: " + error);
    return ServeFile(req, path, rel);
  }

  // Tries each source until one delivers a verified file. Pieces go to `sink` as they arrive;
  // once any went out, a failure is final (the client has part of this source's bytes).
  std::optional<Fetched> Fetch(const std::vector<RemoteSource>& sources, http::BodySink* sink,
                               FetchError* error) {
    for (const RemoteSource& s : sources) {
      auto writer = app_.store->NewWriter();
      if (!writer.ok()) {
        error->message = std::string(writer.status().message());
        return std::nullopt;
      }
      std::string write_error;
      auto on_data = [&](const char* data, size_t n) {
        if (auto st = (*writer)->Write(data, n); !st.ok()) {
          write_error = std::string(st.message());
          return false;
        }
        if (sink != nullptr) {
          error->sent_any = true;
          sink->Write(data, n);  // a client that left does not stop the download
        }
        return true;
      };
      long status = 0;
      absl::Status st =
          download::Stream(s.url, download::Options::FromRemote(s.remote), on_data, &status);
      if (st.ok()) st = (*writer)->Finish();
      if (st.ok() && s.size && static_cast<int64_t>((*writer)->size()) != *s.size) {
        st = absl::DataLossError(
            absl::StrCat("A file located at the url ", s.url, " failed validation due to size."));
      }
      if (st.ok() && !s.sha256.empty() && (*writer)->digests().at("sha256") != s.sha256) {
        st = absl::DataLossError(absl::StrCat("A file located at the url ", s.url,
                                              " failed validation due to checksum."));
      }
      if (st.ok()) return Fetched{std::move(*writer), &s};
      error->message = write_error.empty() ? std::string(st.message()) : write_error;
      error->http_status = status;
      std::cerr << "pulp-content: fetching " << s.url << ": " << error->message << std::endl;
      MarkFailed(s);
      if (error->sent_any) return std::nullopt;
    }
    return std::nullopt;
  }

  static http::Response ErrorResponse(const FetchError& error) {
    if (error.http_status >= 400 && error.http_status < 600) {
      return Text(static_cast<int>(error.http_status),
                  absl::StrCat(error.http_status,
                               ": Error while fetching from upstream remote: ", error.message));
    }
    return Text(404, "404: Not Found");
  }

  // The fetched file becomes an artifact and the content's artifact; returns its path ("" if
  // it could not be saved: the client still got verified bytes).
  std::string Save(Fetched& fetched) {
    try {
      auto lease = app_.pool->Acquire();
      if (!lease.ok()) return "";
      pqxx::work tx(**lease);
      const std::string pk = models::SaveArtifact(app_, tx, *fetched.file, true).pk;
      tx.exec(absl::StrCat("UPDATE core_contentartifact SET artifact_id = ", tx.quote(pk),
                           "::uuid WHERE pulp_id = ", tx.quote(fetched.source->content_artifact_pk),
                           "::uuid AND artifact_id IS NULL"));
      pqxx::result f =
          tx.exec("SELECT file FROM core_artifact WHERE pulp_id = " + tx.quote(pk) + "::uuid");
      tx.commit();
      return app_.store->PathOf(f[0][0].as<std::string>());
    } catch (const std::exception& e) {
      std::cerr << "pulp-content: saving " << fetched.source->url << ": " << e.what() << std::endl;
      return "";
    }
  }

  void MarkFailed(const RemoteSource& s) {
    try {
      auto lease = app_.pool->Acquire();
      if (!lease.ok()) return;
      pqxx::nontransaction tx(**lease);
      tx.exec("UPDATE core_remoteartifact SET failed_at = clock_timestamp() WHERE pulp_id = " +
              tx.quote(s.remote_artifact_pk) + "::uuid");
    } catch (const std::exception&) {
    }
  }

  // Finished flights stay a minute, so a request that looked in Postgres just before the
  // artifact was saved still joins the finished download instead of starting another.
  void Prune() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time cutoff = absl::Now() - absl::Minutes(1);
    for (auto it = flights_.begin(); it != flights_.end();) {
      auto next = std::next(it);
      bool old;
      {
        absl::MutexLock lock(&it->second->mu);
        old = it->second->done && it->second->finished < cutoff;
      }
      if (old) flights_.erase(it);
      it = next;
    }
  }

  static bool Failed(Flight& f) {
    absl::MutexLock lock(&f.mu);
    return f.done && f.stored_path.empty();
  }

  AppContext& app_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Flight>> flights_ ABSL_GUARDED_BY(mu_);
};

RemoteContent::RemoteContent(AppContext& app) : impl_(std::make_unique<Impl>(app)) {}
RemoteContent::~RemoteContent() = default;

http::Response RemoteContent::Serve(const http::Request& req,
                                    const std::vector<RemoteSource>& sources,
                                    const std::string& rel) {
  return impl_->Serve(req, sources, rel);
}

}  // namespace pulp::core::content
