"""Artifacts (pulp-api.md §3.1, §6.1, §6.2): multipart create with digest/size verification,
content-addressed storage under MEDIA_ROOT, list filters, and no leftovers on failure."""
import base64
import os
import socket
import unittest
import uuid

from checks import (TIMESTAMP, UUID_RE, artifact_path, assert_no_temp_files, body_json,
                    create_artifact, digests, files_under, pk_of, qs, sha256, unique_bytes)
from harness import ADMIN_PASSWORD, API, PulpSystem, multipart

system = None
ARTIFACTS = API + "artifacts/"
FIELDS = ["pulp_href", "prn", "pulp_created", "pulp_last_updated", "file", "size", "md5", "sha1",
          "sha224", "sha256", "sha384", "sha512"]


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def post_file(data, fields=None, name="file"):
    return system.post_multipart(ARTIFACTS, fields=fields, files={name: ("blob.bin", data)})


class CreateTest(unittest.TestCase):
    def tearDown(self):
        assert_no_temp_files(self, system)

    def test_create_computes_allowed_digests_and_stores_the_file(self):
        data = unique_bytes(5000, b"create")
        r = post_file(data)
        art = body_json(self, r, 201)
        self.assertEqual(list(art), FIELDS)
        want = digests(data)
        self.assertEqual(art["size"], len(data))
        for alg in ("sha224", "sha256", "sha384", "sha512"):
            self.assertEqual(art[alg], want[alg], alg)
        self.assertIsNone(art["md5"], "md5 is not an allowed checksum by default")
        self.assertIsNone(art["sha1"], "sha1 is not an allowed checksum by default")
        self.assertEqual(art["file"], f"artifact/{want['sha256'][:2]}/{want['sha256'][2:]}")
        self.assertRegex(art["pulp_href"], rf"^{ARTIFACTS}{UUID_RE}/$")
        self.assertEqual(art["prn"], f"prn:core.artifact:{pk_of(art['pulp_href'])}")
        self.assertRegex(art["pulp_created"], TIMESTAMP)
        self.assertEqual(r.headers.get("location"), art["pulp_href"])
        stored = os.path.join(system.media, art["file"])
        with open(stored, "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(body_json(self, system.get(art["pulp_href"]), 200), art)

    def test_matching_size_and_digests_are_accepted(self):
        data = unique_bytes(321, b"match")
        d = digests(data)
        art = create_artifact(self, system, data, size=str(len(data)), sha256=d["sha256"],
                              sha512=d["sha512"], sha224=d["sha224"], sha384=d["sha384"])
        self.assertEqual(art["sha256"], d["sha256"])

    def test_size_mismatch(self):
        data = unique_bytes(100, b"size")
        body = body_json(self, post_file(data, {"size": "101"}), 400)
        self.assertEqual(body, {"non_field_errors": [
            "The size did not match actual size of file."]})
        self.assertFalse(os.path.exists(artifact_path(system, sha256(data))))

    def test_digest_mismatch(self):
        data = unique_bytes(100, b"digest")
        for alg in ("sha256", "sha512", "sha224", "sha384"):
            with self.subTest(alg=alg):
                body = body_json(self, post_file(data, {alg: digests(b"other")[alg]}), 400)
                self.assertEqual(body, {"non_field_errors": [f"The {alg} checksum did not match."]})
        self.assertFalse(os.path.exists(artifact_path(system, sha256(data))))
        listed = body_json(self, system.get(qs(ARTIFACTS, sha256=sha256(data))), 200)
        self.assertEqual(listed["count"], 0)

    def test_multipart_variants_browsers_and_libraries_send(self):
        boundary = uuid.uuid4().hex
        cases = {}
        data = unique_bytes(500, b"quoted")
        cases["quoted boundary"] = (
            f'multipart/form-data; boundary="{boundary}"',
            (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n'
             f'Content-Type: application/octet-stream\r\n\r\n').encode() + data +
            f'\r\n--{boundary}--\r\n'.encode(), data)
        data = unique_bytes(500, b"preamble")
        cases["preamble, field with its own type, no trailing CRLF"] = (
            f"multipart/form-data; charset=utf-8; boundary={boundary}",
            b"this is a preamble\r\n" +
            (f'--{boundary}\r\nContent-Disposition: form-data; name="size"\r\n'
             f'Content-Type: text/plain; charset=utf-8\r\n\r\n{len(data)}\r\n'
             f'--{boundary}\r\ncontent-disposition: form-data; filename="b.bin"; name="file"'
             f'\r\n\r\n').encode() + data + f'\r\n--{boundary}--'.encode(), data)
        for name, (ctype, body, payload) in cases.items():
            with self.subTest(name):
                r = system.request("POST", ARTIFACTS, body=body, content_type=ctype)
                art = body_json(self, r, 201)
                self.assertEqual(art["sha256"], sha256(payload))
                self.assertEqual(art["size"], len(payload))

    def test_size_must_be_an_integer(self):
        data = unique_bytes(10, b"sizeint")
        self.assertEqual(body_json(self, post_file(data, {"size": "ten"}), 400),
                         {"size": ["A valid integer is required."]})

    def test_forbidden_checksum(self):
        data = unique_bytes(100, b"md5")
        body = body_json(self, post_file(data, {"md5": digests(data)["md5"]}), 400)
        self.assertEqual(body, {"non_field_errors": [
            "Checksum algorithms ['md5'] forbidden for this Pulp instance."]})
        body = body_json(self, post_file(data, {"sha1": digests(data)["sha1"]}), 400)
        self.assertEqual(body, {"non_field_errors": [
            "Checksum algorithms ['sha1'] forbidden for this Pulp instance."]})
        self.assertFalse(os.path.exists(artifact_path(system, sha256(data))))

    def test_duplicate(self):
        data = unique_bytes(64, b"dup")
        first = create_artifact(self, system, data)
        body = body_json(self, post_file(data), 400)
        self.assertEqual(body, {"non_field_errors": [
            f"Artifact with sha256 checksum of '{sha256(data)}' already exists."]})
        with open(os.path.join(system.media, first["file"]), "rb") as f:
            self.assertEqual(f.read(), data, "the existing file must be left intact")
        listed = body_json(self, system.get(qs(ARTIFACTS, sha256=sha256(data))), 200)
        self.assertEqual(listed["count"], 1)

    def test_missing_file(self):
        for kwargs in ({"fields": {"size": "3"}}, {"fields": None}):
            with self.subTest(**kwargs):
                r = system.post_multipart(ARTIFACTS, **kwargs)
                self.assertEqual(body_json(self, r, 400), {"file": ["No file was submitted."]})
        r = system.post(ARTIFACTS, {})
        self.assertEqual(body_json(self, r, 400), {"file": ["No file was submitted."]})

    def test_file_sent_as_plain_field(self):
        r = system.post_multipart(ARTIFACTS, fields={"file": "not a file"})
        self.assertEqual(body_json(self, r, 400), {"file": [
            "The submitted data was not a file. Check the encoding type on the form."]})

    def test_unknown_field(self):
        data = unique_bytes(50, b"unknown")
        body = body_json(self, post_file(data, {"foo": "bar"}), 400)
        self.assertEqual(body, {"foo": ["Unexpected field"]})
        self.assertFalse(os.path.exists(artifact_path(system, sha256(data))))

    def test_empty_file_is_allowed(self):
        art = body_json(self, post_file(b""), 201)
        self.assertEqual(art["size"], 0)
        self.assertEqual(art["sha256"], sha256(b""))
        self.assertEqual(os.path.getsize(os.path.join(system.media, art["file"])), 0)

    def test_body_without_closing_boundary_is_rejected(self):
        data = unique_bytes(200_000, b"noclose")
        body, ctype = multipart(None, {"file": ("blob.bin", data)})
        boundary = ctype.split("boundary=")[1]
        truncated = body[: body.rindex(f"--{boundary}--".encode())]
        r = system.request("POST", ARTIFACTS, body=truncated, content_type=ctype)
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertFalse(os.path.exists(artifact_path(system, sha256(data))))
        self.assertNotIn(f"{sha256(data)[:2]}/{sha256(data)[2:]}",
                         files_under(os.path.join(system.media, "artifact")))

    def test_client_disconnect_mid_file_leaves_nothing(self):
        data = unique_bytes(300_000, b"disconnect")
        body, ctype = multipart(None, {"file": ("blob.bin", data)})
        before = files_under(os.path.join(system.media, "artifact"))
        sock = socket.create_connection(("127.0.0.1", system.api_port), timeout=30)
        try:
            token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
            head = (f"POST {ARTIFACTS} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Basic {token}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
            sock.sendall(head + body[: len(body) // 2])
            sock.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                reply += chunk
        finally:
            sock.close()
        if reply:
            status = int(reply.split(b" ", 2)[1])
            self.assertGreaterEqual(status, 400, reply[:300])
        self.assertEqual(files_under(os.path.join(system.media, "artifact")), before)
        # The server must still serve requests after the aborted upload.
        self.assertEqual(system.get(API + "status/", auth=None).status, 200)
        assert_no_temp_files(self, system)


class ListTest(unittest.TestCase):
    def test_filter_by_digest(self):
        data = unique_bytes(77, b"filter")
        art = create_artifact(self, system, data)
        other = create_artifact(self, system, unique_bytes(77, b"filter2"))
        for alg in ("sha256", "sha512", "sha384", "sha224"):
            with self.subTest(alg=alg):
                page = body_json(self, system.get(qs(ARTIFACTS, **{alg: art[alg]})), 200)
                self.assertEqual(page["count"], 1)
                self.assertEqual(page["results"], [art])
        page = body_json(self, system.get(qs(ARTIFACTS, sha256="0" * 64)), 200)
        self.assertEqual((page["count"], page["results"]), (0, []))
        pair = f"{art['pulp_href']},{other['pulp_href']}"
        both = body_json(self, system.get(qs(ARTIFACTS, pulp_href__in=pair)), 200)
        self.assertEqual(both["count"], 2)

    def test_ordering(self):
        made = [create_artifact(self, system, unique_bytes(n, b"order")) for n in (300, 100, 200)]
        hrefs = ",".join(a["pulp_href"] for a in made)
        asc = body_json(self, system.get(qs(ARTIFACTS, pulp_href__in=hrefs, ordering="size")), 200)
        self.assertEqual([a["size"] for a in asc["results"]], [100, 200, 300])
        desc = body_json(self, system.get(qs(ARTIFACTS, pulp_href__in=hrefs, ordering="-size")),
                         200)
        self.assertEqual([a["size"] for a in desc["results"]], [300, 200, 100])
        default = body_json(self, system.get(qs(ARTIFACTS, pulp_href__in=hrefs)), 200)
        self.assertEqual([a["pulp_href"] for a in default["results"]],
                         [a["pulp_href"] for a in reversed(made)])
        r = system.get(qs(ARTIFACTS, ordering="sideways"))
        self.assertEqual(body_json(self, r, 400), {"ordering": [
            "Select a valid choice. sideways is not one of the available choices."]})

    def test_every_plain_model_field_is_an_ordering_choice(self):
        # BaseFilterSet offers every non-relation model field, plus pk.
        made = [create_artifact(self, system, unique_bytes(50, b"ord" + bytes([i])))
                for i in range(3)]
        hrefs = ",".join(a["pulp_href"] for a in made)
        for field in ("sha224", "sha256", "sha384", "sha512", "file", "size", "pulp_id", "pk",
                      "pulp_created", "pulp_last_updated", "timestamp_of_interest", "md5",
                      "sha1"):
            for prefix in ("", "-"):
                with self.subTest(ordering=prefix + field):
                    r = system.get(qs(ARTIFACTS, pulp_href__in=hrefs, ordering=prefix + field))
                    page = body_json(self, r, 200)
                    self.assertEqual(page["count"], 3)
                    if field.startswith("sha") and field != "sha1":
                        got = [a[field] for a in page["results"]]
                        self.assertEqual(got, sorted(got, reverse=prefix == "-"))

    def test_upstream_filters_are_known(self):
        for name, value in (("md5", "0" * 32), ("sha1", "0" * 40), ("sha224", "0" * 56),
                            ("sha384", "0" * 96), ("sha512", "0" * 128), ("orphaned_for", "0"),
                            ("repository_version",
                             f"{API}repositories/file/file/{uuid.uuid4()}/versions/0/")):
            with self.subTest(name=name):
                r = system.get(qs(ARTIFACTS, **{name: value}))
                self.assertLess(r.status, 500, r)
                self.assertNotIn(b"Invalid Filter", r.body)

    def test_bad_filter_values(self):
        self.assertEqual(body_json(self, system.get(qs(ARTIFACTS, bogus=1)), 400),
                         {"errors": ["Invalid Filter: 'bogus'"]})


class DeleteTest(unittest.TestCase):
    def test_delete_is_forbidden_even_for_admin(self):
        art = create_artifact(self, system, unique_bytes(40, b"delete"))
        r = system.request("DELETE", art["pulp_href"])
        self.assertEqual(body_json(self, r, 403),
                         {"detail": "You do not have permission to perform this action."})
        self.assertEqual(system.get(art["pulp_href"]).status, 200)
        self.assertTrue(os.path.exists(os.path.join(system.media, art["file"])))

    def test_delete_without_credentials_is_401(self):
        r = system.request("DELETE", f"{ARTIFACTS}{uuid.uuid4()}/", auth=None)
        self.assertEqual(r.status, 401)


class NoLeftoversTest(unittest.TestCase):
    def test_failed_creates_leave_no_artifact_or_temp_files(self):
        before = files_under(os.path.join(system.media, "artifact"))
        data = unique_bytes(1000, b"leftover")
        post_file(data, {"size": "1"})
        post_file(data, {"sha256": "f" * 64})
        post_file(data, {"md5": "x"})
        post_file(data, {"nope": "1"})
        post_file(data, name="not_file")
        self.assertEqual(files_under(os.path.join(system.media, "artifact")), before)
        assert_no_temp_files(self, system)


if __name__ == "__main__":
    unittest.main()
