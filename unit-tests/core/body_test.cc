#include "services/core/http/body.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "services/core/http/errors.h"

namespace pulp::core::http {
namespace {

// Serves a fixed body in small pieces, like a socket would.
class StringBody : public BodyReader {
 public:
  StringBody(std::string data, size_t piece) : data_(std::move(data)), piece_(piece) {}
  absl::StatusOr<size_t> Read(char* buf, size_t n) override {
    const size_t k = std::min({n, piece_, data_.size() - pos_});
    std::copy_n(data_.data() + pos_, k, buf);
    pos_ += k;
    return k;
  }
  std::optional<uint64_t> ContentLength() const override { return data_.size(); }

 private:
  std::string data_;
  size_t piece_;
  size_t pos_ = 0;
};

class CollectingSink : public FileSink {
 public:
  explicit CollectingSink(std::string* out) : out_(out) {}
  absl::Status Write(const char* d, size_t n) override {
    out_->append(d, n);
    return absl::OkStatus();
  }
  absl::Status Finish() override { return absl::OkStatus(); }

 private:
  std::string* out_;
};

Request MakeRequest(const std::string& content_type, StringBody* body) {
  Request r;
  r.method = "POST";
  r.headers["content-type"] = content_type;
  r.body = body;
  return r;
}

std::string Multipart(const std::string& boundary, const std::string& file_content) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"size\"\r\n\r\n12\r\n--" +
         boundary +
         "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" +
         file_content + "\r\n--" + boundary + "--\r\n";
}

TEST(Multipart, StreamsFilePartsWhateverTheReadSize) {
  // The file content contains a near-boundary to make sure only the exact delimiter splits.
  const std::string content = std::string("x\r\n--bound") + std::string(70000, 'z') + "\r\n--boun";
  for (size_t piece : {1u, 7u, 4096u, 1u << 20}) {
    StringBody body(Multipart("boundary123", content), piece);
    Request req = MakeRequest("multipart/form-data; boundary=boundary123", &body);
    std::string got;
    RequestData data = ReadRequestData(req, [&](const std::string& field, const std::string&) {
      EXPECT_EQ(field, "file");
      return std::make_unique<CollectingSink>(&got);
    });
    EXPECT_EQ(got, content) << "piece " << piece;
    EXPECT_EQ(data.fields["size"], "12");
    EXPECT_EQ(data.files.at("file").filename, "a.bin");
  }
}

TEST(Multipart, TruncatedBodyIsA400) {
  std::string full = Multipart("b", "hello");
  StringBody body(full.substr(0, full.size() - 12), 5);
  Request req = MakeRequest("multipart/form-data; boundary=b", &body);
  std::string got;
  try {
    ReadRequestData(req, [&](const std::string&, const std::string&) {
      return std::make_unique<CollectingSink>(&got);
    });
    FAIL() << "expected an error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(e.body()["detail"].get<std::string>().find("Multipart form parse error"),
              std::string::npos);
  }
}

TEST(Multipart, MissingBoundaryIsA400) {
  StringBody body("whatever", 100);
  Request req = MakeRequest("multipart/form-data", &body);
  EXPECT_THROW(ReadRequestData(req), ApiError);
}

TEST(Json, ParsesObjectsAndRejectsOthers) {
  StringBody ok(R"({"size": 3, "name": "x"})", 3);
  Request req = MakeRequest("application/json", &ok);
  RequestData data = ReadRequestData(req);
  EXPECT_EQ(data.fields["size"], 3);
  EXPECT_FALSE(data.is_form);

  StringBody list("[1,2]", 100);
  Request req2 = MakeRequest("application/json", &list);
  try {
    ReadRequestData(req2);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_EQ(e.body()["non_field_errors"][0],
              "Invalid data. Expected a dictionary, but got list.");
  }
}

TEST(Json, InvalidUtf8AndSyntaxAre400) {
  for (std::string text : {std::string("{\"a\": \"\xff\"}"), std::string("{\"a\": }")}) {
    StringBody b(text, 100);
    Request req = MakeRequest("application/json", &b);
    try {
      ReadRequestData(req);
      FAIL() << text;
    } catch (const ApiError& e) {
      EXPECT_EQ(e.status(), 400);
      EXPECT_EQ(e.body()["detail"].get<std::string>().rfind("JSON parse error - ", 0), 0u);
    }
  }
}

TEST(Json, OversizedBodyIs413) {
  StringBody b("{\"a\": \"" + std::string(2000, 'x') + "\"}", 100);
  Request req = MakeRequest("application/json", &b);
  BodyLimits limits;
  limits.max_json_bytes = 1000;
  try {
    ReadRequestData(req, nullptr, limits);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 413);
  }
}

TEST(Forms, UrlEncodedRepeatedKeysBecomeLists) {
  StringBody b("a=1&b=x+y&a=2&c=%2Fp", 4);
  Request req = MakeRequest("application/x-www-form-urlencoded", &b);
  RequestData data = ReadRequestData(req);
  EXPECT_TRUE(data.is_form);
  EXPECT_EQ(data.fields["a"], Json::array({"1", "2"}));
  EXPECT_EQ(data.fields["b"], "x y");
  EXPECT_EQ(data.fields["c"], "/p");
}

TEST(Forms, UnsupportedMediaTypeIs415) {
  StringBody b("hello", 10);
  Request req = MakeRequest("text/plain", &b);
  try {
    ReadRequestData(req);
    FAIL();
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), 415);
    EXPECT_EQ(e.body()["detail"], "Unsupported media type \"text/plain\" in request.");
  }
}

}  // namespace
}  // namespace pulp::core::http
