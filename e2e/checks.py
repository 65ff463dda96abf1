"""Small helpers shared by the end-to-end test modules (standard library only).

Nothing here knows how the server is implemented: everything goes through HTTP, the files in
MEDIA_ROOT, or the database the harness created.
"""
import datetime
import hashlib
import json
import os
import re
import time
import urllib.parse
import uuid

from harness import API, multipart

HEX32 = re.compile(r"^[0-9a-f]{32}$")
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
# DRF renders datetimes as ISO 8601 in UTC with a "Z" (microseconds omitted only when zero).
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
FINAL_STATES = ("completed", "failed", "canceled", "skipped")


def unique_bytes(size=64, label=b""):
    """Bytes no other test (or earlier run) will ever upload."""
    head = label + b"|" + uuid.uuid4().bytes + b"|"
    if size <= len(head):
        return os.urandom(size)
    return head + os.urandom(size - len(head))


def digests(data):
    return {alg: hashlib.new(alg, data).hexdigest()
            for alg in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512")}


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def qs(path, **params):
    """path?k=v&... ; list values become repeated keys."""
    pairs = []
    for k, v in params.items():
        for item in v if isinstance(v, (list, tuple)) else [v]:
            pairs.append((k, str(item)))
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def body_json(test, response, status):
    """Asserts the status and an exactly-JSON body; returns the decoded body."""
    test.assertEqual(response.status, status, response)
    test.assertEqual(response.headers.get("content-type"), "application/json", response)
    return json.loads(response.body)


def pk_of(href):
    return href.rstrip("/").rsplit("/", 1)[1]


def parse_timestamp(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def create_artifact(test, system, data, **fields):
    r = system.post_multipart(API + "artifacts/", fields=fields or None,
                              files={"file": ("blob.bin", data)})
    return body_json(test, r, 201)


def create_upload(test, system, size):
    return body_json(test, system.post(API + "uploads/", {"size": size}), 201)


def put_chunk(system, upload_href, data, start, end=None, total=None, sha256_hex=None,
              content_range=None):
    end = start + len(data) - 1 if end is None else end
    fields = {"sha256": sha256_hex} if sha256_hex is not None else None
    body, ctype = multipart(fields, {"file": ("chunk", data)})
    headers = {}
    if content_range is None:
        content_range = f"bytes {start}-{end}/{'*' if total is None else total}"
    if content_range is not False:
        headers["Content-Range"] = content_range
    return system.request("PUT", upload_href, body=body, content_type=ctype, headers=headers)


def wait_task(test, system, task_href, timeout=60):
    deadline = time.time() + timeout
    while True:
        r = system.get(task_href)
        task = body_json(test, r, 200)
        if task["state"] in FINAL_STATES:
            return task
        if time.time() > deadline:
            test.fail(f"task {task_href} still {task['state']} after {timeout}s")
        time.sleep(0.05)


def files_under(root):
    """Regular files below root (relative paths), [] if root does not exist."""
    out = []
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            out.append(os.path.relpath(os.path.join(dirpath, n), root))
    return sorted(out)


def assert_no_temp_files(test, system):
    """Nothing may be left under MEDIA_ROOT/tmp once a request has been answered."""
    left = files_under(os.path.join(system.media, "tmp"))
    test.assertEqual(left, [], "temporary files left under MEDIA_ROOT/tmp")


def artifact_path(system, sha256_hex):
    return os.path.join(system.media, "artifact", sha256_hex[:2], sha256_hex[2:])


def flatten_strings(value):
    """All strings inside a JSON value (error bodies come as dicts of lists or bare lists)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in flatten_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in flatten_strings(v)]
    return []
