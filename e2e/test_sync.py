"""File sync from a PULP_MANIFEST served by a real nginx."""
import hashlib
import os
import socket
import threading
import time
import unittest
import uuid

from harness import API, PulpSystem
from nginx import Nginx

system = None
nginx = None


def setUpModule():
    global system, nginx
    system = PulpSystem().start()
    nginx = Nginx().start()


def tearDownModule():
    nginx.stop()
    system.stop()


def fixture(files, manifest_lines=None):
    """Writes files and their PULP_MANIFEST under a fresh folder; returns the manifest URL."""
    name = uuid.uuid4().hex[:8]
    lines = []
    for path, data in files.items():
        nginx.write(f"{name}/{path}", data)
        lines.append(f"{path},{hashlib.sha256(data).hexdigest()},{len(data)}")
    text = "\n".join(manifest_lines if manifest_lines is not None else lines) + "\n"
    nginx.write(f"{name}/PULP_MANIFEST", text.encode())
    return nginx.url(f"{name}/PULP_MANIFEST")


def setup(url, policy="immediate", **repo_fields):
    remote = system.post(API + "remotes/file/file/", {"name": "m-" + uuid.uuid4().hex[:8],
                                                      "url": url, "policy": policy, **{
                                                          k: v for k, v in repo_fields.items()
                                                          if k in ("sock_read_timeout",)}}).json
    fields = {k: v for k, v in repo_fields.items() if k != "sock_read_timeout"}
    repo = system.post(API + "repositories/file/file/",
                       {"name": "s-" + uuid.uuid4().hex[:8], **fields}).json
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

        repo, remote = setup(nginx.url("nothing/PULP_MANIFEST"))
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

        repo, remote = setup(fixture({"a": b"a"}), autopublish=True)
        r = system.post(repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"], "mirror": True})
        self.assertEqual((r.status, r.json), (400, ["Cannot use mirror mode with autopublished repository."]))

    def test_progress_reports_details_and_skip(self):
        files = {f"p{i}.txt": os.urandom(64) for i in range(7)}
        repo, remote = setup(fixture(files))
        task = sync(repo, remote)
        reports = {p["code"]: p for p in task["progress_reports"]}
        self.assertEqual(set(reports), {"sync.downloading.metadata", "sync.parsing.metadata",
                                        "sync.downloading.artifacts", "associating.content",
                                        "unassociating.content"})
        self.assertTrue(all(p["state"] == "completed" for p in reports.values()))
        self.assertEqual((reports["sync.parsing.metadata"]["total"],
                          reports["sync.parsing.metadata"]["done"]), (7, 7))
        self.assertEqual(reports["sync.downloading.artifacts"]["done"], 7)
        self.assertEqual(reports["associating.content"]["done"], 7)
        self.assertEqual(reports["sync.downloading.metadata"]["message"], "Downloading Metadata")
        details = system.get(repo["pulp_href"]).json["last_sync_details"]
        self.assertEqual(details["remote_pk"], remote["pulp_href"].rstrip("/").split("/")[-1])
        self.assertEqual(details["most_recent_version"], 1)
        self.assertEqual(details["download_policy"], "immediate")
        self.assertEqual(len(details["manifest_checksum"]), 64)
        # Same remote, same manifest, same latest version: skipped.
        again = sync(repo, remote)
        self.assertEqual([p["code"] for p in again["progress_reports"]],
                         ["sync.downloading.metadata", "sync.was_skipped"])
        self.assertIsNone(again["result"])
        # optimize=false runs it all, still creating nothing new.
        full = sync(repo, remote, optimize=False)
        self.assertIn("sync.parsing.metadata", [p["code"] for p in full["progress_reports"]])
        self.assertEqual(full["created_resources"], [])
        # A failed sync leaves its running report failed.
        repo2, remote2 = setup(fixture({"x": b"x"}, [f"x,{'0' * 64},1"]))
        failed = sync(repo2, remote2)
        states = {p["code"]: p["state"] for p in failed["progress_reports"]}
        self.assertEqual(states["sync.downloading.artifacts"], "failed")

    def test_repository_remote_autopublish_and_retention(self):
        files = {"one.txt": b"1", "two.txt": b"22"}
        url = fixture(files)
        _, remote = setup(url)
        repo = system.post(API + "repositories/file/file/", {
            "name": "r-" + uuid.uuid4().hex[:8], "remote": remote["pulp_href"],
            "autopublish": True, "retain_repo_versions": 2}).json
        self.assertEqual(repo["remote"], remote["pulp_href"])
        listed = system.get(API + f"repositories/file/file/?remote={remote['pulp_href']}").json
        self.assertEqual([r["pulp_href"] for r in listed["results"]], [repo["pulp_href"]])
        r = system.post(repo["pulp_href"] + "sync/", {})
        task = system.wait_task(r.json["task"])
        self.assertEqual(task["state"], "completed", task["error"])
        v1 = repo["pulp_href"] + "versions/1/"
        self.assertEqual(task["created_resources"][0], v1)
        pub_href = task["created_resources"][1]
        self.assertIn("/publications/file/file/", pub_href)
        pub = system.get(pub_href).json
        self.assertEqual((pub["repository_version"], pub["manifest"]), (v1, "PULP_MANIFEST"))
        # Two more versions by modify: retention keeps the newest two.
        content = system.get(API + f"content/file/files/?repository_version={v1}").json["results"]
        for c in content:
            t = system.wait_task(system.post(repo["pulp_href"] + "modify/", {
                "remove_content_units": [c["pulp_href"]]}).json["task"])
            self.assertEqual(t["state"], "completed", t["error"])
            self.assertEqual(len(t["created_resources"]), 2)  # the version and its publication
        numbers = [v["number"] for v in system.get(repo["versions_href"]).json["results"]]
        self.assertEqual(numbers, [3, 2])
        self.assertEqual(system.get(pub_href).status, 404)  # went with version 1
        # Deleting the remote leaves the repository without one.
        system.wait_task(system.request("DELETE", remote["pulp_href"]).json["task"])
        self.assertIsNone(system.get(repo["pulp_href"]).json["remote"])
        nulls = system.get(API + "repositories/file/file/?remote=null&name=" + repo["name"]).json
        self.assertEqual(nulls["count"], 1)

    def test_repository_remote_bad_input(self):
        base = {"name": "b-" + uuid.uuid4().hex[:8]}
        r = system.post(API + "repositories/file/file/", {**base, "remote": "http://x/nope/"})
        self.assertEqual((r.status, r.json), (400, {"remote": ["Invalid hyperlink - No URL match."]}))
        r = system.post(API + "repositories/file/file/",
                        {**base, "remote": API + f"remotes/file/file/{uuid.uuid4()}/"})
        self.assertEqual(r.json, {"remote": ["Invalid hyperlink - Object does not exist."]})
        r = system.get(API + "repositories/file/file/?remote=bogus")
        self.assertEqual(r.status, 400)

    def test_remotes_that_misbehave(self):
        # HTML instead of a manifest: a parse error naming line 1, nothing saved.
        name = uuid.uuid4().hex[:8]
        nginx.write(f"{name}/PULP_MANIFEST", b"<html><body>Not a manifest</body></html>\n")
        repo, remote = setup(nginx.url(f"{name}/PULP_MANIFEST"))
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertIn("failed on line:1", task["error"]["description"])
        self.assertEqual(system.get(repo["versions_href"]).json["count"], 1)
        # A server that accepts and never answers: the remote's timeout ends the task.
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        held = []
        threading.Thread(target=lambda: [held.append(listener.accept()) for _ in range(4)],
                         daemon=True).start()
        repo, remote = setup(f"http://127.0.0.1:{listener.getsockname()[1]}/PULP_MANIFEST",
                             sock_read_timeout=1.0)
        started = time.time()
        task = sync(repo, remote)
        self.assertEqual(task["state"], "failed")
        self.assertLess(time.time() - started, 60)
        self.assertEqual(system.get(repo["versions_href"]).json["count"], 1)
        listener.close()

    def test_two_syncs_of_one_repository_serialize(self):
        files = {f"s{i}.bin": os.urandom(2000) for i in range(30)}
        repo, remote = setup(fixture(files))
        tasks = [system.post(repo["pulp_href"] + "sync/", {"remote": remote["pulp_href"],
                                                           "optimize": False}).json["task"]
                 for _ in range(2)]
        done = [system.wait_task(t, timeout=120) for t in tasks]
        self.assertEqual([t["state"] for t in done], ["completed", "completed"])
        first, second = sorted(done, key=lambda t: t["started_at"])
        self.assertLessEqual(first["finished_at"], second["started_at"])
        self.assertEqual(system.get(repo["versions_href"]).json["count"], 2)


if __name__ == "__main__":
    unittest.main()
