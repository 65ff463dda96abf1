"""File sync from a PULP_MANIFEST served over real HTTP (a local threaded web server)."""
import functools
import hashlib
import http.server
import os
import shutil
import tempfile
import threading
import unittest
import uuid

from harness import API, PulpSystem

system = None
server = None
root = None


def setUpModule():
    global system, server, root
    system = PulpSystem().start()
    root = tempfile.mkdtemp(prefix="pulp-fixture-")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()


def tearDownModule():
    server.shutdown()
    shutil.rmtree(root, ignore_errors=True)
    system.stop()


def fixture(files, manifest_lines=None):
    """Writes files and their PULP_MANIFEST under a fresh folder; returns the manifest URL."""
    name = uuid.uuid4().hex[:8]
    folder = os.path.join(root, name)
    lines = []
    for path, data in files.items():
        os.makedirs(os.path.dirname(os.path.join(folder, path)), exist_ok=True)
        with open(os.path.join(folder, path), "wb") as f:
            f.write(data)
        lines.append(f"{path},{hashlib.sha256(data).hexdigest()},{len(data)}")
    with open(os.path.join(folder, "PULP_MANIFEST"), "w") as f:
        f.write("\n".join(manifest_lines if manifest_lines is not None else lines) + "\n")
    return f"http://127.0.0.1:{server.server_address[1]}/{name}/PULP_MANIFEST"


def setup(url, policy="immediate"):
    repo = system.post(API + "repositories/file/file/", {"name": "s-" + uuid.uuid4().hex[:8]}).json
    remote = system.post(API + "remotes/file/file/", {"name": "m-" + uuid.uuid4().hex[:8],
                                                      "url": url, "policy": policy}).json
    return repo, remote


def sync(repo, remote, **extra):
    r = system.post(repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"], **extra})
    assert r.status == 202, r
    return system.wait_task(r.json["task"], timeout=120)


def version_files(version_href):
    r = system.get(API + f"content/file/files/?repository_version={version_href}&limit=1000")
    return {c["relative_path"]: c for c in r.json["results"]}


class SyncTest(unittest.TestCase):
    def test_immediate_sync_resync_and_mirror(self):
        files = {f"d/f{i}.bin": os.urandom(1000 + i) for i in range(25)}
        url = fixture(files)
        repo, remote = setup(url)
        task = sync(repo, remote)
        self.assertEqual(task["state"], "completed", task["error"])
        v1 = repo["pulp_href"] + "versions/1/"
        self.assertEqual(task["created_resources"], [v1])
        self.assertEqual(task["result"]["pulp_href"], v1)
        got = version_files(v1)
        self.assertEqual(set(got), set(files))
        for path, data in files.items():
            self.assertEqual(got[path]["sha256"], hashlib.sha256(data).hexdigest())
            self.assertIsNotNone(got[path]["artifact"])
        # Unchanged remote: no new version.
        again = sync(repo, remote)
        self.assertEqual((again["state"], again["created_resources"]), ("completed", []))
        # Mirror a smaller manifest: the rest goes.
        keep = dict(list(files.items())[:5])
        url2 = fixture(keep)
        system.wait_task(system.request("PATCH", remote["pulp_href"], json_body={"url": url2}).json["task"])
        mirrored = sync(repo, remote, mirror=True)
        self.assertEqual(mirrored["state"], "completed", mirrored["error"])
        self.assertEqual(set(version_files(repo["pulp_href"] + "versions/2/")), set(keep))

    def test_on_demand_creates_content_without_downloading(self):
        files = {"lazy.txt": b"not fetched yet"}
        repo, remote = setup(fixture(files), policy="on_demand")
        before = system.get(API + "artifacts/?limit=1").json["count"]
        task = sync(repo, remote)
        self.assertEqual(task["state"], "completed", task["error"])
        got = version_files(repo["pulp_href"] + "versions/1/")
        self.assertIsNone(got["lazy.txt"]["artifact"])
        self.assertEqual(system.get(API + "artifacts/?limit=1").json["count"], before)

    def test_failures_save_nothing(self):
        good = os.urandom(500)
        bad_digest = [f"ok.bin,{hashlib.sha256(good).hexdigest()},{len(good)}",
                      f"wrong.bin,{'0' * 64},3"]
        url = fixture({"ok.bin": good, "wrong.bin": b"abc"}, bad_digest)
        repo, remote = setup(url)
        before = system.get(API + "artifacts/?limit=1").json["count"]
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertIn("failed validation due to checksum", task["error"]["description"])
        self.assertEqual(system.get(API + "artifacts/?limit=1").json["count"], before)
        self.assertEqual(system.get(repo["versions_href"]).json["count"], 1)

        url = fixture({"x.bin": b"x"}, ["x.bin,not-hex,1"])
        repo, remote = setup(url)
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertIn("Parsing of the manifest file failed on line:1", task["error"]["description"])

        files = {"present.bin": b"p"}
        url = fixture(files, [f"missing.bin,{hashlib.sha256(b'm').hexdigest()},1"])
        repo, remote = setup(url)
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertIn("404", task["error"]["description"])

        repo, remote = setup(f"http://127.0.0.1:{server.server_address[1]}/nothing/PULP_MANIFEST")
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertIn("404", task["error"]["description"])

    def test_sync_bad_input(self):
        repo, remote = setup(fixture({"a": b"a"}))
        r = system.post(repo["pulp_href"] + "sync/", {})
        self.assertEqual(r.json, {"remote": [
            "This field is required since a remote is not set on the repository."]})
        r = system.post(repo["pulp_href"] + "sync/", {"remote": API + f"remotes/file/file/{uuid.uuid4()}/"})
        self.assertEqual(r.json, {"remote": ["Invalid hyperlink - Object does not exist."]})


if __name__ == "__main__":
    unittest.main()
