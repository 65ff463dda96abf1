"""Chunked uploads (pulp-api.md §3.2) and streaming of large request bodies.

Create, PUT chunks with Content-Range, read with chunks, commit into an artifact (a task),
delete, list filters; plus a ~300 MB artifact upload during which the API process must keep
its resident memory small (bodies are streamed, never held in memory)."""
import base64
import hashlib
import http.client
import json
import os
import threading
import time
import unittest
import uuid

from checks import (UUID_RE, assert_no_temp_files, body_json, create_artifact, create_upload,
                    files_under, pk_of, put_chunk, qs, sha256, unique_bytes, wait_task)
from harness import ADMIN_PASSWORD, API, PulpSystem, multipart

system = None
UPLOADS = API + "uploads/"
CHUNK_DIR = lambda: os.path.join(system.media, "upload")  # noqa: E731 (CHUNKED_UPLOAD_DIR)
RANGE_ERROR = {"non_field_errors": ["Invalid or missing content range header."]}


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def chunked(test, data, pieces):
    """Creates an upload of `data` sent in `pieces` [(start, end_exclusive)] order."""
    upload = create_upload(test, system, len(data))
    for start, stop in pieces:
        r = put_chunk(system, upload["pulp_href"], data[start:stop], start, total=len(data))
        body_json(test, r, 200)
    return upload


class CreateTest(unittest.TestCase):
    def test_create_returns_the_upload(self):
        r = system.post(UPLOADS, {"size": 1024})
        upload = body_json(self, r, 201)
        self.assertEqual(list(upload), ["pulp_href", "prn", "pulp_created", "pulp_last_updated",
                                        "size"])
        self.assertEqual(upload["size"], 1024)
        self.assertRegex(upload["pulp_href"], rf"^{UPLOADS}{UUID_RE}/$")
        self.assertEqual(upload["prn"], f"prn:core.upload:{pk_of(upload['pulp_href'])}")
        self.assertEqual(r.headers.get("location"), upload["pulp_href"])
        detail = body_json(self, system.get(upload["pulp_href"]), 200)
        self.assertEqual(detail, dict(upload, chunks=[]))

    def test_create_accepts_a_form(self):
        r = system.request("POST", UPLOADS, body=b"size=33",
                           content_type="application/x-www-form-urlencoded")
        self.assertEqual(body_json(self, r, 201)["size"], 33)

    def test_create_validation(self):
        cases = [
            ({}, {"size": ["This field is required."]}),
            ({"size": "abc"}, {"size": ["A valid integer is required."]}),
            ({"size": None}, {"size": ["This field may not be null."]}),
            ({"size": 3, "color": "red"}, {"color": ["Unexpected field"]}),
        ]
        for payload, error in cases:
            with self.subTest(payload=payload):
                self.assertEqual(body_json(self, system.post(UPLOADS, payload), 400), error)

    def test_list_filters_by_size(self):
        base = int(time.time() * 1000) * 10
        made = [create_upload(self, system, base + n) for n in range(4)]
        page = body_json(self, system.get(qs(UPLOADS, size__gt=base + 1)), 200)
        self.assertEqual(sorted(u["size"] for u in page["results"]), [base + 2, base + 3])
        page = body_json(self, system.get(qs(UPLOADS, size__lt=base + 2, size__gt=base - 1)), 200)
        self.assertEqual(sorted(u["size"] for u in page["results"]), [base, base + 1])
        page = body_json(self, system.get(qs(UPLOADS, size=base + 3)), 200)
        self.assertEqual([u["pulp_href"] for u in page["results"]], [made[3]["pulp_href"]])
        page = body_json(self, system.get(qs(UPLOADS, size__range=f"{base + 1},{base + 2}")), 200)
        self.assertEqual(page["count"], 2)
        self.assertEqual(body_json(self, system.get(qs(UPLOADS, size__gt="big")), 400),
                         {"size__gt": ["Enter a number."]})


class ChunkTest(unittest.TestCase):
    def tearDown(self):
        assert_no_temp_files(self, system)

    def test_chunks_in_order_and_out_of_order(self):
        data = unique_bytes(30, b"chunks")
        upload = create_upload(self, system, 30)
        r = put_chunk(system, upload["pulp_href"], data[20:30], 20, total=30)
        self.assertEqual(body_json(self, r, 200),
                         dict(upload, pulp_last_updated=r.json["pulp_last_updated"]))
        put_chunk(system, upload["pulp_href"], data[0:10], 0, total=30)
        r = put_chunk(system, upload["pulp_href"], data[10:20], 10)  # total "*" is fine too
        self.assertEqual(r.status, 200, r)
        detail = body_json(self, system.get(upload["pulp_href"]), 200)
        self.assertEqual(detail["chunks"], [{"offset": 0, "size": 10}, {"offset": 10, "size": 10},
                                            {"offset": 20, "size": 10}])

    def test_chunk_at_same_offset_replaces_the_previous_one(self):
        data = unique_bytes(20, b"replace")
        before = set(files_under(CHUNK_DIR()))
        upload = create_upload(self, system, 20)
        put_chunk(system, upload["pulp_href"], b"X" * 10, 0, total=20)
        put_chunk(system, upload["pulp_href"], data[10:], 10, total=20)
        put_chunk(system, upload["pulp_href"], data[:10], 0, total=20)
        detail = body_json(self, system.get(upload["pulp_href"]), 200)
        self.assertEqual(detail["chunks"], [{"offset": 0, "size": 10}, {"offset": 10, "size": 10}])
        self.assertEqual(len(set(files_under(CHUNK_DIR())) - before), 2,
                         "the replaced chunk's file must be gone")
        task = self.commit(upload, sha256(data))
        self.assertEqual(task["state"], "completed", task.get("error"))
        artifact = body_json(self, system.get(task["created_resources"][0]), 200)
        with open(os.path.join(system.media, artifact["file"]), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(set(files_under(CHUNK_DIR())) - before, set(),
                         "chunk files must be deleted once committed")

    def commit(self, upload, digest):
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": digest})
        return wait_task(self, system, body_json(self, r, 202)["task"])

    def test_total_in_content_range_is_not_checked(self):
        # Upstream only uses start and end; the total may be "*" or anything.
        upload = create_upload(self, system, 10)
        for header in ("bytes 0-4/99", "bytes 5-9/*"):
            with self.subTest(header=header):
                start = int(header.split()[1].split("-")[0])
                r = put_chunk(system, upload["pulp_href"], b"12345", start, content_range=header)
                self.assertEqual(r.status, 200, r)

    def test_bad_or_missing_content_range(self):
        upload = create_upload(self, system, 10)
        for header in (False, "", "bytes 0-4", "bytes=0-4/10", "items 0-4/10", "bytes a-4/10",
                       "bytes 0-4/ten", "bytes 0-4/10/10"):
            with self.subTest(header=header):
                r = put_chunk(system, upload["pulp_href"], b"12345", 0, content_range=header)
                self.assertEqual(body_json(self, r, 400), RANGE_ERROR)
        self.assertEqual(body_json(self, system.get(upload["pulp_href"]), 200)["chunks"], [])

    def test_chunk_size_must_match_the_range(self):
        upload = create_upload(self, system, 10)
        for header in ("bytes 0-5/10", "bytes 0-3/10", "bytes 5-2/10"):
            with self.subTest(header=header):
                r = put_chunk(system, upload["pulp_href"], b"abcd5", 0, content_range=header)
                self.assertEqual(body_json(self, r, 400),
                                 {"non_field_errors": ["Chunk size does not match content range."]})

    def test_end_beyond_upload_size(self):
        upload = create_upload(self, system, 10)
        r = put_chunk(system, upload["pulp_href"], b"abcdef", 5, total=11)
        self.assertEqual(body_json(self, r, 400),
                         {"non_field_errors": ["End byte is greater than upload size."]})
        self.assertEqual(body_json(self, system.get(upload["pulp_href"]), 200)["chunks"], [])

    def test_chunk_checksum(self):
        upload = create_upload(self, system, 8)
        r = put_chunk(system, upload["pulp_href"], b"abcd", 0, sha256_hex=sha256(b"wxyz"))
        self.assertEqual(body_json(self, r, 400), ["Checksum does not match chunk upload."])
        self.assertEqual(body_json(self, system.get(upload["pulp_href"]), 200)["chunks"], [])
        r = put_chunk(system, upload["pulp_href"], b"abcd", 0, sha256_hex=sha256(b"abcd"))
        self.assertEqual(r.status, 200, r)

    def test_chunk_needs_a_file(self):
        upload = create_upload(self, system, 8)
        r = system.request("PUT", upload["pulp_href"], json_body={},
                           headers={"Content-Range": "bytes 0-3/8"})
        self.assertEqual(body_json(self, r, 400), {"file": ["No file was submitted."]})

    def test_truncated_chunk_body_leaves_nothing(self):
        upload = create_upload(self, system, 100_000)
        before = set(files_under(CHUNK_DIR()))
        body, ctype = multipart(None, {"file": ("chunk", unique_bytes(100_000, b"trunc"))})
        boundary = ctype.split("boundary=")[1]
        body = body[: body.rindex(f"--{boundary}--".encode())]
        r = system.request("PUT", upload["pulp_href"], body=body, content_type=ctype,
                           headers={"Content-Range": "bytes 0-99999/100000"})
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(set(files_under(CHUNK_DIR())), before)
        self.assertEqual(body_json(self, system.get(upload["pulp_href"]), 200)["chunks"], [])

    def test_chunk_to_unknown_upload_is_404(self):
        r = put_chunk(system, f"{UPLOADS}{uuid.uuid4()}/", b"abcd", 0, total=4)
        self.assertEqual(body_json(self, r, 404), {"detail": "No Upload matches the given query."})

    def test_patch_is_not_allowed(self):
        upload = create_upload(self, system, 8)
        r = system.request("PATCH", upload["pulp_href"], json_body={"size": 9})
        self.assertEqual(body_json(self, r, 405), {"detail": 'Method "PATCH" not allowed.'})


class CommitTest(unittest.TestCase):
    def tearDown(self):
        assert_no_temp_files(self, system)

    def test_commit_creates_the_artifact_and_removes_the_upload(self):
        data = unique_bytes(25_000, b"commit")
        upload = chunked(self, data, [(10_000, 25_000), (0, 10_000)])
        cid = uuid.uuid4().hex
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": sha256(data)},
                        headers={"Correlation-ID": cid})
        accepted = body_json(self, r, 202)
        self.assertEqual(list(accepted), ["task"])
        task = wait_task(self, system, accepted["task"])
        self.assertEqual(task["state"], "completed", task["error"])
        self.assertEqual(task["name"], "pulpcore.app.tasks.upload.commit")
        self.assertEqual(task["logging_cid"], cid)
        self.assertIsNone(task["error"])
        self.assertEqual(len(task["created_resources"]), 1)
        art_href = task["created_resources"][0]
        self.assertRegex(art_href, rf"^{API}artifacts/{UUID_RE}/$")
        self.assertIn(f"prn:core.upload:{pk_of(upload['pulp_href'])}",
                      task["reserved_resources_record"])
        artifact = body_json(self, system.get(art_href), 200)
        self.assertEqual(artifact["sha256"], sha256(data))
        self.assertEqual(artifact["size"], len(data))
        with open(os.path.join(system.media, artifact["file"]), "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertEqual(body_json(self, system.get(upload["pulp_href"]), 404),
                         {"detail": "No Upload matches the given query."})

    def test_commit_with_wrong_checksum_fails_the_task(self):
        data = unique_bytes(100, b"wrongsum")
        upload = chunked(self, data, [(0, 100)])
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": sha256(b"something else")})
        task = wait_task(self, system, body_json(self, r, 202)["task"])
        self.assertEqual(task["state"], "failed")
        self.assertEqual(task["created_resources"], [])
        self.assertIn("The sha256 checksum did not match.", task["error"]["description"])
        page = body_json(self, system.get(qs(API + "artifacts/", sha256=sha256(data))), 200)
        self.assertEqual(page["count"], 0)
        # The upload survives a failed commit.
        self.assertEqual(system.get(upload["pulp_href"]).status, 200)

    def test_commit_of_an_existing_artifact_fails_like_artifact_create(self):
        data = unique_bytes(100, b"exists")
        create_artifact(self, system, data)
        upload = chunked(self, data, [(0, 100)])
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": sha256(data)})
        task = wait_task(self, system, body_json(self, r, 202)["task"])
        self.assertEqual(task["state"], "failed")
        self.assertIn(f"Artifact with sha256 checksum of '{sha256(data)}' already exists.",
                      task["error"]["description"])

    def test_commit_validation(self):
        upload = create_upload(self, system, 4)
        self.assertEqual(body_json(self, system.post(upload["pulp_href"] + "commit/", {}), 400),
                         {"sha256": ["This field is required."]})
        r = system.post(f"{UPLOADS}{uuid.uuid4()}/commit/", {"sha256": "0" * 64})
        self.assertEqual(body_json(self, r, 404), {"detail": "No Upload matches the given query."})

    def test_delete(self):
        before = set(files_under(CHUNK_DIR()))
        upload = chunked(self, b"0123456789", [(0, 5), (5, 10)])
        self.assertEqual(len(set(files_under(CHUNK_DIR())) - before), 2)
        r = system.request("DELETE", upload["pulp_href"])
        self.assertEqual((r.status, r.body), (204, b""))
        self.assertEqual(set(files_under(CHUNK_DIR())) - before, set(),
                         "chunk files must be deleted with the upload")
        self.assertEqual(system.get(upload["pulp_href"]).status, 404)
        self.assertEqual(system.request("DELETE", upload["pulp_href"]).status, 404)


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class StreamingTest(unittest.TestCase):
    SIZE = 300 * 1024 * 1024
    LIMIT_KIB = 100 * 1024

    def test_300_mb_artifact_streams_with_small_rss(self):
        pid = getattr(system, "api_proc", system.procs[0]).pid
        peak = [vm_rss_kib(pid)]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    peak[0] = max(peak[0], vm_rss_kib(pid))
                except OSError:
                    return
                stop.wait(0.01)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        boundary = uuid.uuid4().hex
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        digest = hashlib.sha256()
        block = os.urandom(1 << 20)
        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        conn = http.client.HTTPConnection("127.0.0.1", system.api_port, timeout=300)
        try:
            conn.putrequest("POST", API + "artifacts/")
            conn.putheader("Authorization", f"Basic {token}")
            conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
            conn.putheader("Content-Length", str(len(head) + self.SIZE + len(tail)))
            conn.endheaders()
            conn.send(head)
            for i in range(self.SIZE // len(block)):
                piece = i.to_bytes(8, "big") + block[8:]
                digest.update(piece)
                conn.send(piece)
            conn.send(tail)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
            stop.set()
            sampler.join()
        self.assertEqual(resp.status, 201, raw[:300])
        artifact = json.loads(raw)
        self.assertEqual(artifact["size"], self.SIZE)
        self.assertEqual(artifact["sha256"], digest.hexdigest())
        self.assertEqual(os.path.getsize(os.path.join(system.media, artifact["file"])), self.SIZE)
        self.assertLess(peak[0], self.LIMIT_KIB,
                        f"pulpcore-api peaked at {peak[0] // 1024} MiB RSS during the upload")
        assert_no_temp_files(self, system)


if __name__ == "__main__":
    unittest.main()
