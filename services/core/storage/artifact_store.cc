#include "services/core/storage/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "services/core/http/errors.h"
#include "services/core/storage/digests.h"
#include "services/core/util/uuid.h"

namespace pulp::core::storage {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::Status MakeDirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return absl::OkStatus();
}

class WriterSink : public http::FileSink {
 public:
  explicit WriterSink(FileWriter* w) : w_(w) {}
  absl::Status Write(const char* data, size_t n) override { return w_->Write(data, n); }
  absl::Status Finish() override { return w_->Finish(); }

 private:
  FileWriter* w_;
};

}  // namespace

std::unique_ptr<http::FileSink> SinkFor(FileWriter* writer) {
  return std::make_unique<WriterSink>(writer);
}

http::FileSinkFactory WriterSinkFactory(ArtifactStore& store, std::unique_ptr<FileWriter>* writer,
                                        std::string field) {
  return [&store, writer, field](const std::string& name,
                                 const std::string&) -> std::unique_ptr<http::FileSink> {
    if (name != field || *writer) return nullptr;
    auto w = store.NewWriter();
    if (!w.ok()) throw http::FromStatus(w.status());
    *writer = std::move(*w);
    return SinkFor(writer->get());
  };
}

FileWriter::FileWriter(std::string temp_path, int fd, const std::vector<std::string>& algorithms)
    : temp_path_(std::move(temp_path)), fd_(fd), hasher_(new MultiHasher(algorithms)) {}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

absl::Status FileWriter::Write(const char* data, size_t n) {
  hasher_->Update(data, n);
  size_ += n;
  while (n > 0) {
    ssize_t w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Errno("write " + temp_path_);
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

absl::Status FileWriter::Finish() {
  if (finished_) return absl::OkStatus();
  finished_ = true;
  digests_ = hasher_->Finish();
  if (::fsync(fd_) != 0) return Errno("fsync " + temp_path_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    return Errno("close " + temp_path_);
  }
  fd_ = -1;
  return absl::OkStatus();
}

ArtifactStore::ArtifactStore(std::string media_root, std::vector<std::string> algorithms)
    : media_root_(std::move(media_root)), algorithms_(std::move(algorithms)) {
  // Digests of every known algorithm are computed; forbidden ones are simply not stored.
  // sha256 names the file, whatever else is allowed.
  if (std::find(algorithms_.begin(), algorithms_.end(), "sha256") == algorithms_.end()) {
    algorithms_.push_back("sha256");
  }
}

std::string ArtifactStore::ArtifactName(const std::string& sha256) {
  return absl::StrCat("artifact/", sha256.substr(0, 2), "/", sha256.substr(2));
}

absl::StatusOr<std::unique_ptr<FileWriter>> ArtifactStore::NewWriter() {
  const std::string id = NewUuid();
  const std::string dir = absl::StrCat(media_root_, "/tmp/files/", id.substr(0, 2));
  if (auto st = MakeDirs(dir); !st.ok()) return st;
  const std::string path = absl::StrCat(dir, "/", id.substr(2));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create " + path);
  return std::unique_ptr<FileWriter>(new FileWriter(path, fd, algorithms_));
}

absl::Status ArtifactStore::RenameInto(FileWriter& writer, const std::string& final_path) {
  if (auto st = writer.Finish(); !st.ok()) return st;
  if (auto st = MakeDirs(std::filesystem::path(final_path).parent_path()); !st.ok()) return st;
  if (::rename(writer.temp_path_.c_str(), final_path.c_str()) != 0) {
    return Errno("rename to " + final_path);
  }
  writer.committed_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::string> ArtifactStore::CommitArtifact(FileWriter& writer) {
  if (auto st = writer.Finish(); !st.ok()) return st;
  const std::string name = ArtifactName(writer.digests().at("sha256"));
  if (auto st = RenameInto(writer, PathOf(name)); !st.ok()) return st;
  return name;
}

absl::Status ArtifactStore::CommitAs(FileWriter& writer, const std::string& relative) {
  return RenameInto(writer, PathOf(relative));
}

absl::Status ArtifactStore::Remove(const std::string& name) {
  if (::unlink(PathOf(name).c_str()) != 0 && errno != ENOENT) return Errno("unlink " + name);
  return absl::OkStatus();
}

}  // namespace pulp::core::storage
