#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/core/http/body.h"

namespace pulp::core::storage {

class MultiHasher;

// A file being written under MEDIA_ROOT/tmp/, hashed as it goes. Nobody sees it until it is
// committed (renamed into place); an abandoned writer deletes its file.
class FileWriter : public http::FileSink {
 public:
  ~FileWriter() override;
  absl::Status Write(const char* data, size_t n) override;
  absl::Status Finish() override;  // flushes and fsyncs; digests and size become valid

  uint64_t size() const { return size_; }
  const std::map<std::string, std::string>& digests() const { return digests_; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  friend class ArtifactStore;
  FileWriter(std::string temp_path, int fd, const std::vector<std::string>& algorithms);

  std::string temp_path_;
  int fd_;
  std::unique_ptr<MultiHasher> hasher_;
  uint64_t size_ = 0;
  bool finished_ = false;
  bool committed_ = false;
  std::map<std::string, std::string> digests_;
};

// A request-body sink that writes into a writer owned elsewhere (the handler keeps the writer to
// commit it after validation).
std::unique_ptr<http::FileSink> SinkFor(FileWriter* writer);

class ArtifactStore;
// For http::ReadRequestData: streams the multipart file part named `field` into a new writer
// left in `*writer` (the handler validates, then commits it); other file parts are refused.
http::FileSinkFactory WriterSinkFactory(ArtifactStore& store, std::unique_ptr<FileWriter>* writer,
                                        std::string field = "file");

// Content-addressed file storage on the filesystem: MEDIA_ROOT/artifact/<2 hex>/<62 hex>.
class ArtifactStore {
 public:
  ArtifactStore(std::string media_root, std::vector<std::string> algorithms);

  absl::StatusOr<std::unique_ptr<FileWriter>> NewWriter();

  // Renames a finished writer's file to its artifact location and returns the storage name
  // ("artifact/ab/cdef..."). An existing file there is the same content and stays.
  absl::StatusOr<std::string> CommitArtifact(FileWriter& writer);
  // Renames a finished writer's file to `relative` (e.g. "upload/<uuid>").
  absl::Status CommitAs(FileWriter& writer, const std::string& relative);

  // Absolute path of a storage name; names come from our own rows.
  std::string PathOf(const std::string& name) const { return media_root_ + "/" + name; }
  absl::Status Remove(const std::string& name);

  static std::string ArtifactName(const std::string& sha256);
  const std::string& media_root() const { return media_root_; }
  const std::vector<std::string>& algorithms() const { return algorithms_; }

 private:
  absl::Status RenameInto(FileWriter& writer, const std::string& final_path);

  std::string media_root_;
  std::vector<std::string> algorithms_;
};

}  // namespace pulp::core::storage
