"""File content (pulp-api.md §3.3, §2.5, §2.6): create from a file, an artifact or an upload
(asynchronously, as a task), the synchronous upload endpoint, relative path rules, list
filters, and bodies the server must refuse without falling over."""
import json
import os
import threading
import unittest
import urllib.parse
import uuid

from checks import (UUID_RE, assert_no_temp_files, body_json, create_artifact, create_upload,
                    digests, files_under, pk_of, put_chunk, qs, sha256, unique_bytes, wait_task)
from harness import API, PulpSystem, multipart

system = None
FILES = API + "content/file/files/"
CONTENT_FIELDS = ["pulp_href", "prn", "pulp_created", "pulp_last_updated", "pulp_labels",
                  "vuln_report", "artifact", "relative_path", "md5", "sha1", "sha224", "sha256",
                  "sha384", "sha512"]


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def unique_path(name="file.txt"):
    return f"e2e/{uuid.uuid4().hex[:12]}/{name}"


def form(fields):
    return system.request("POST", FILES, body=urllib.parse.urlencode(fields).encode(),
                          content_type="application/x-www-form-urlencoded")


def run_create(test, response):
    accepted = body_json(test, response, 202)
    test.assertEqual(list(accepted), ["task"])
    task = wait_task(test, system, accepted["task"])
    test.assertEqual(task["state"], "completed", task.get("error"))
    return task


def create_from_file(test, data, relative_path, **fields):
    r = system.post_multipart(FILES, fields=dict(relative_path=relative_path, **fields),
                              files={"file": ("upload.bin", data)})
    task = run_create(test, r)
    return body_json(test, system.get(task["created_resources"][0]), 200), task


class CreateTest(unittest.TestCase):
    def tearDown(self):
        assert_no_temp_files(self, system)

    def test_create_from_file(self):
        data = unique_bytes(4096, b"content-file")
        path = unique_path()
        r = system.post_multipart(FILES, fields={"relative_path": path},
                                  files={"file": ("upload.bin", data)})
        task = run_create(self, r)
        self.assertEqual(task["name"], "pulpcore.app.tasks.base.general_create")
        self.assertEqual(len(task["created_resources"]), 1)
        href = task["created_resources"][0]
        self.assertRegex(href, rf"^{FILES}{UUID_RE}/$")
        content = body_json(self, system.get(href), 200)
        self.assertEqual(task["result"], content, "the task result is the content JSON")
        self.assertEqual(content["relative_path"], path)
        d = digests(data)
        for alg in ("sha224", "sha256", "sha384", "sha512"):
            self.assertEqual(content[alg], d[alg])
        self.assertIsNone(content["md5"])
        self.assertIsNone(content["sha1"])
        self.assertEqual(content["pulp_labels"], {})
        self.assertIsNone(content["vuln_report"])
        self.assertEqual(content["prn"], f"prn:file.filecontent:{pk_of(href)}")
        artifact = body_json(self, system.get(content["artifact"]), 200)
        self.assertEqual(artifact["sha256"], d["sha256"])
        with open(os.path.join(system.media, artifact["file"]), "rb") as f:
            self.assertEqual(f.read(), data)

    def test_content_fields_in_upstream_order(self):
        content, _ = create_from_file(self, unique_bytes(10, b"order"), unique_path())
        self.assertEqual(list(content), CONTENT_FIELDS)
        listed = body_json(self, system.get(qs(FILES, relative_path=content["relative_path"])), 200)
        self.assertEqual(list(listed["results"][0]), CONTENT_FIELDS)

    def test_create_from_artifact_href_and_prn(self):
        data = unique_bytes(500, b"from-artifact")
        artifact = create_artifact(self, system, data)
        for ref in (artifact["pulp_href"], artifact["prn"]):
            with self.subTest(ref=ref):
                path = unique_path()
                task = run_create(self, form({"relative_path": path, "artifact": ref}))
                content = body_json(self, system.get(task["created_resources"][0]), 200)
                self.assertEqual(content["artifact"], artifact["pulp_href"])
                self.assertEqual(content["sha256"], sha256(data))
                self.assertEqual(content["relative_path"], path)
        # JSON bodies work as well.
        r = system.post(FILES, {"relative_path": unique_path(), "artifact": artifact["pulp_href"]})
        run_create(self, r)

    def test_create_from_upload_consumes_it(self):
        data = unique_bytes(3000, b"from-upload")
        upload = create_upload(self, system, len(data))
        self.assertEqual(put_chunk(system, upload["pulp_href"], data[1000:], 1000).status, 200)
        self.assertEqual(put_chunk(system, upload["pulp_href"], data[:1000], 0).status, 200)
        path = unique_path()
        task = run_create(self, form({"relative_path": path, "upload": upload["pulp_href"]}))
        self.assertIn(f"prn:core.upload:{pk_of(upload['pulp_href'])}",
                      task["reserved_resources_record"])
        content = body_json(self, system.get(task["created_resources"][0]), 200)
        self.assertEqual(content["sha256"], sha256(data))
        artifact = body_json(self, system.get(content["artifact"]), 200)
        with open(os.path.join(system.media, artifact["file"]), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(system.get(upload["pulp_href"]).status, 404, "the upload is consumed")

    def test_same_path_and_digest_reuses_the_content(self):
        data = unique_bytes(100, b"reuse")
        path = unique_path()
        first, _ = create_from_file(self, data, path)
        again, task = create_from_file(self, data, path)
        self.assertEqual(again["pulp_href"], first["pulp_href"])
        self.assertEqual(task["created_resources"], [first["pulp_href"]])
        page = body_json(self, system.get(qs(FILES, relative_path=path)), 200)
        self.assertEqual(page["count"], 1)
        # Same bytes under another path is another unit sharing the artifact.
        other, _ = create_from_file(self, data, unique_path())
        self.assertNotEqual(other["pulp_href"], first["pulp_href"])
        self.assertEqual(other["artifact"], first["artifact"])

    def test_unicode_relative_path(self):
        path = f"e2e/{uuid.uuid4().hex[:8]}/ünïcødé-文件.txt"
        content, _ = create_from_file(self, unique_bytes(30, b"unicode"), path)
        self.assertEqual(content["relative_path"], path)
        page = body_json(self, system.get(qs(FILES, relative_path=path)), 200)
        self.assertEqual([c["pulp_href"] for c in page["results"]], [content["pulp_href"]])

    def test_concurrent_creates_of_one_unit_agree(self):
        data = unique_bytes(2048, b"concurrent")
        path = unique_path()
        results = []

        def create():
            r = system.post_multipart(FILES, fields={"relative_path": path},
                                      files={"file": ("f", data)})
            results.append(r)

        threads = [threading.Thread(target=create) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        hrefs = set()
        for r in results:
            task = run_create(self, r)
            hrefs.update(task["created_resources"])
        self.assertEqual(len(hrefs), 1, hrefs)
        page = body_json(self, system.get(qs(FILES, relative_path=path)), 200)
        self.assertEqual(page["count"], 1)
        arts = body_json(self, system.get(qs(API + "artifacts/", sha256=sha256(data))), 200)
        self.assertEqual(arts["count"], 1)

    def test_labels_from_a_form_json_string(self):
        label = uuid.uuid4().hex[:10]
        content, _ = create_from_file(self, unique_bytes(50, b"labels"), unique_path(),
                                      pulp_labels=json.dumps({"e2e": label, "kind": "doc"}))
        self.assertEqual(content["pulp_labels"], {"e2e": label, "kind": "doc"})
        other, _ = create_from_file(self, unique_bytes(50, b"labels2"), unique_path(),
                                    pulp_labels=json.dumps({"e2e": label, "kind": "bin"}))
        cases = [
            (f"e2e={label}", {content["pulp_href"], other["pulp_href"]}),
            (f"e2e={label},kind=doc", {content["pulp_href"]}),
            (f"e2e={label},kind!=doc", {other["pulp_href"]}),
            (f"e2e={label},kind~bi", {other["pulp_href"]}),
            (f"e2e={label},!kind", set()),
            (f"e2e={label},kind", {content["pulp_href"], other["pulp_href"]}),
        ]
        for select, want in cases:
            with self.subTest(select=select):
                page = body_json(self, system.get(qs(FILES, pulp_label_select=select)), 200)
                self.assertEqual({c["pulp_href"] for c in page["results"]}, want)

    def test_synchronous_upload_endpoint(self):
        data = unique_bytes(700, b"sync-upload")
        path = unique_path()
        r = system.post_multipart(FILES + "upload/", fields={"relative_path": path},
                                  files={"file": ("upload.bin", data)})
        content = body_json(self, r, 201)
        self.assertEqual(list(content), CONTENT_FIELDS)
        self.assertEqual(content["relative_path"], path)
        self.assertEqual(content["sha256"], sha256(data))
        self.assertEqual(body_json(self, system.get(content["pulp_href"]), 200), content)
        r = system.post_multipart(FILES + "upload/", fields={"relative_path": "../up"},
                                  files={"file": ("upload.bin", data)})
        self.assertEqual(body_json(self, r, 400),
                         {"relative_path": ["Relative path is not in canonical form. ../up"]})


class ValidationTest(unittest.TestCase):
    def tearDown(self):
        assert_no_temp_files(self, system)

    def test_bad_relative_paths(self):
        tasks_before = body_json(self, system.get(API + "tasks/"), 200)["count"]
        artifacts_before = files_under(os.path.join(system.media, "artifact"))
        for path in ("../x", "/abs", "a//b", "a/./b", "trailing/", "a/../b", "sp ace", "q?x",
                     "h#x", "."):
            with self.subTest(path=path):
                data = unique_bytes(64, b"badpath")
                r = system.post_multipart(FILES, fields={"relative_path": path},
                                          files={"file": ("upload.bin", data)})
                self.assertEqual(body_json(self, r, 400), {
                    "relative_path": [f"Relative path is not in canonical form. {path}"]})
                page = body_json(self, system.get(qs(API + "artifacts/", sha256=sha256(data))), 200)
                self.assertEqual(page["count"], 0, "no artifact may be created for a refused unit")
        self.assertEqual(files_under(os.path.join(system.media, "artifact")), artifacts_before)
        self.assertEqual(body_json(self, system.get(API + "tasks/"), 200)["count"], tasks_before)

    def test_truncated_multipart_creates_nothing(self):
        data = unique_bytes(50_000, b"trunc-content")
        body, ctype = multipart({"relative_path": unique_path()}, {"file": ("f", data)})
        boundary = ctype.split("boundary=")[1]
        body = body[: body.rindex(f"--{boundary}--".encode())]
        r = system.request("POST", FILES, body=body, content_type=ctype)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        page = body_json(self, system.get(qs(API + "artifacts/", sha256=sha256(data))), 200)
        self.assertEqual(page["count"], 0)

    def test_nul_byte_in_relative_path(self):
        artifact = create_artifact(self, system, unique_bytes(64, b"nul"))
        r = form({"relative_path": "a\x00b", "artifact": artifact["pulp_href"]})
        self.assertEqual(body_json(self, r, 400),
                         {"relative_path": ["Null characters are not allowed."]})

    def test_missing_relative_path(self):
        artifact = create_artifact(self, system, unique_bytes(64, b"norel"))
        r = form({"artifact": artifact["pulp_href"]})
        self.assertEqual(body_json(self, r, 400), {"relative_path": ["This field is required."]})

    def test_exactly_one_source(self):
        data = unique_bytes(80, b"sources")
        artifact = create_artifact(self, system, data)
        upload = create_upload(self, system, 10)
        cases = [
            form({"relative_path": unique_path()}),
            form({"relative_path": unique_path(), "artifact": artifact["pulp_href"],
                  "upload": upload["pulp_href"]}),
            system.post_multipart(FILES, fields={"relative_path": unique_path(),
                                                 "artifact": artifact["pulp_href"]},
                                  files={"file": ("f", unique_bytes(20, b"two"))}),
        ]
        for r in cases:
            with self.subTest(r=r):
                body = body_json(self, r, 400)
                self.assertEqual(list(body), ["non_field_errors"])
                [msg] = body["non_field_errors"]
                self.assertTrue(msg.startswith("Exactly one of ") and
                                msg.endswith(" must be specified."), msg)
                names = msg[len("Exactly one of "):-len(" must be specified.")].split(", ")
                self.assertEqual(sorted(names), ["artifact", "file", "file_url", "upload"])
        self.assertEqual(system.get(upload["pulp_href"]).status, 200)

    def test_invalid_artifact_reference(self):
        cases = [
            ("/pulp/api/v3/not-artifacts/", "Invalid hyperlink - No URL match."),
            ("garbage", "Invalid hyperlink - No URL match."),
            (f"{API}artifacts/{uuid.uuid4()}/", "Invalid hyperlink - Object does not exist."),
        ]
        for ref, message in cases:
            with self.subTest(ref=ref):
                r = form({"relative_path": unique_path(), "artifact": ref})
                self.assertEqual(body_json(self, r, 400), {"artifact": [message]})

    def test_invalid_upload_reference(self):
        r = form({"relative_path": unique_path(), "upload": f"{API}uploads/{uuid.uuid4()}/"})
        self.assertEqual(body_json(self, r, 400),
                         {"upload": ["Invalid hyperlink - Object does not exist."]})

    def test_unknown_field(self):
        artifact = create_artifact(self, system, unique_bytes(64, b"unk"))
        r = form({"relative_path": unique_path(), "artifact": artifact["pulp_href"],
                  "colour": "blue"})
        self.assertEqual(body_json(self, r, 400), {"colour": ["Unexpected field"]})

    def test_invalid_utf8_json_is_a_json_400(self):
        for body in (b'{"relative_path": "\xff\xfe", "artifact": "x"}', b'{"size": "\xc3"}',
                     b"\xff"):
            with self.subTest(body=body):
                r = system.request("POST", FILES, body=body, content_type="application/json")
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.headers.get("content-type"), "application/json")
                self.assertIn("detail", json.loads(r.body))
                r = system.request("POST", API + "uploads/", body=body,
                                   content_type="application/json")
                self.assertEqual(r.status, 400, r)
                self.assertTrue(json.loads(r.body)["detail"].startswith("JSON parse error"), r)

    def test_malformed_json_is_a_parse_error(self):
        r = system.request("POST", API + "uploads/", body=b'{"size": ',
                           content_type="application/json")
        body = body_json(self, r, 400)
        self.assertEqual(list(body), ["detail"])
        self.assertTrue(body["detail"].startswith("JSON parse error - "), body)
        r = system.request("POST", API + "uploads/", body=b"[1, 2]",
                           content_type="application/json")
        self.assertEqual(body_json(self, r, 400), {"non_field_errors": [
            "Invalid data. Expected a dictionary, but got list."]})

    def test_unsupported_media_type(self):
        r = system.request("POST", API + "uploads/", body=b"size: 1", content_type="text/yaml")
        self.assertEqual(body_json(self, r, 415),
                         {"detail": 'Unsupported media type "text/yaml" in request.'})

    def test_ten_megabyte_json_body(self):
        payload = json.dumps({"size": 10, "padding": "x" * (10 * 1024 * 1024)}).encode()
        r = system.request("POST", API + "uploads/", body=payload, content_type="application/json")
        self.assertGreaterEqual(r.status, 400, r)
        self.assertLess(r.status, 500, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        json.loads(r.body)
        self.assertEqual(system.get(API + "status/", auth=None).status, 200)
        self.assertEqual(system.post(API + "uploads/", {"size": 10}).status, 201)


class ListTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.prefix = f"list-{uuid.uuid4().hex[:8]}"
        cls.units = {}
        for name in ("alpha.txt", "beta.txt", "sub/gamma.iso"):
            path = f"{cls.prefix}/{name}"
            data = unique_bytes(100, name.encode())
            r = system.post_multipart(FILES + "upload/", fields={"relative_path": path},
                                      files={"file": ("f", data)})
            assert r.status == 201, r
            cls.units[name] = r.json

    def listed(self, **params):
        page = body_json(self, system.get(qs(FILES, **params)), 200)
        return sorted(c["relative_path"].rsplit(self.prefix + "/", 1)[-1]
                      for c in page["results"])

    def test_relative_path_exact(self):
        self.assertEqual(self.listed(relative_path=f"{self.prefix}/beta.txt"), ["beta.txt"])
        self.assertEqual(self.listed(relative_path=f"{self.prefix}/missing.txt"), [])

    def test_relative_path_contains_and_friends(self):
        self.assertEqual(self.listed(relative_path__contains=self.prefix),
                         ["alpha.txt", "beta.txt", "sub/gamma.iso"])
        self.assertEqual(self.listed(relative_path__contains=f"{self.prefix}/sub/"),
                         ["sub/gamma.iso"])
        self.assertEqual(self.listed(relative_path__icontains=self.prefix.upper()),
                         ["alpha.txt", "beta.txt", "sub/gamma.iso"])
        self.assertEqual(self.listed(relative_path__startswith=f"{self.prefix}/b"), ["beta.txt"])
        both = f"{self.prefix}/alpha.txt,{self.prefix}/sub/gamma.iso"
        self.assertEqual(self.listed(relative_path__in=both), ["alpha.txt", "sub/gamma.iso"])

    def test_sha256_filter(self):
        beta = self.units["beta.txt"]
        self.assertEqual(self.listed(sha256=beta["sha256"]), ["beta.txt"])
        self.assertEqual(self.listed(sha256=beta["sha256"], relative_path=beta["relative_path"]),
                         ["beta.txt"])
        self.assertEqual(self.listed(sha256="0" * 64), [])

    def test_pagination_keeps_special_characters_in_other_params(self):
        needle = f"{self.prefix}/"
        page = body_json(self, system.get(qs(FILES, relative_path__contains=needle, limit=1)), 200)
        self.assertEqual(page["count"], 3)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(page["next"]).query)
        self.assertEqual(query["relative_path__contains"], [needle])
        seen = [page["results"][0]["pulp_href"]]
        while page["next"]:
            page = body_json(self, system.get(page["next"]), 200)
            seen += [c["pulp_href"] for c in page["results"]]
        self.assertEqual(sorted(seen), sorted(u["pulp_href"] for u in self.units.values()))

    def test_upstream_filters_are_known(self):
        version = f"{API}repositories/file/file/{uuid.uuid4()}/versions/1/"
        for name, value in (("digest", "0" * 64), ("orphaned_for", "0"),
                            ("repository_version", version),
                            ("repository_version_added", version),
                            ("repository_version_removed", version),
                            ("relative_path__iexact", "X"), ("relative_path__regex", "^x"),
                            ("relative_path__iregex", "^x"), ("relative_path__istartswith", "x"),
                            ("pulp_label_select", "a")):
            with self.subTest(name=name):
                r = system.get(qs(FILES, **{name: value}))
                self.assertLess(r.status, 500, r)
                self.assertNotIn(b"Invalid Filter", r.body)

    def test_ordering(self):
        asc = body_json(self, system.get(qs(FILES, relative_path__contains=self.prefix,
                                             ordering="relative_path")), 200)
        paths = [c["relative_path"] for c in asc["results"]]
        self.assertEqual(paths, sorted(paths))
        desc = body_json(self, system.get(qs(FILES, relative_path__contains=self.prefix,
                                              ordering="-relative_path")), 200)
        self.assertEqual([c["relative_path"] for c in desc["results"]], sorted(paths, reverse=True))
        for field in ("pk", "-pk", "digest", "pulp_type", "timestamp_of_interest"):
            with self.subTest(ordering=field):
                r = system.get(qs(FILES, relative_path__contains=self.prefix, ordering=field))
                self.assertEqual(body_json(self, r, 200)["count"], 3)

    def test_content_is_read_only(self):
        href = self.units["alpha.txt"]["pulp_href"]
        for method in ("PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                r = system.request(method, href, json_body={})
                self.assertEqual(body_json(self, r, 405),
                                 {"detail": f'Method "{method}" not allowed.'})


if __name__ == "__main__":
    unittest.main()
