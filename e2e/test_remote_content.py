"""Content synced on_demand or streamed, served by pulp-content from a real nginx remote."""
import concurrent.futures
import hashlib
import http.client
import os
import unittest
import uuid

from harness import API, PulpSystem
from nginx import Nginx

system = None
nginx = None


def setUpModule():
    global system, nginx
    system = PulpSystem().start()
    system.start_content()
    nginx = Nginx(access_log=True).start()


def tearDownModule():
    nginx.stop()
    system.stop()


def get(path, headers=None, method="GET"):
    return system.content(path, method, headers)


def distribute(files, policy):
    """Serves `files` from nginx, syncs them with `policy`, publishes and distributes them."""
    folder = uuid.uuid4().hex[:8]
    lines = []
    for path, data in files.items():
        nginx.write(f"{folder}/{path}", data)
        lines.append(f"{path},{hashlib.sha256(data).hexdigest()},{len(data)}")
    nginx.write(f"{folder}/PULP_MANIFEST", ("\n".join(lines) + "\n").encode())
    remote = system.post(API + "remotes/file/file/", {
        "name": "r-" + folder, "url": nginx.url(f"{folder}/PULP_MANIFEST"), "policy": policy}).json
    repo = system.post(API + "repositories/file/file/",
                       {"name": "o-" + folder, "remote": remote["pulp_href"]}).json
    task = system.wait_task(system.post(repo["pulp_href"] + "sync/", {}).json["task"])
    assert task["state"] == "completed", task["error"]
    pub = system.wait_task(system.post(API + "publications/file/file/",
                                       {"repository": repo["pulp_href"]}).json["task"])
    dist = system.wait_task(system.post(API + "distributions/file/file/", {
        "name": "d-" + folder, "base_path": "d-" + folder,
        "publication": pub["created_resources"][0]}).json["task"])
    assert dist["state"] == "completed", dist["error"]
    return folder, f"/pulp/content/d-{folder}/", repo


def artifact_of(repo, path):
    version = system.get(repo["pulp_href"]).json["latest_version_href"]
    r = system.get(API + f"content/file/files/?repository_version={version}&relative_path={path}")
    return r.json["results"][0]["artifact"]


class OnDemandTest(unittest.TestCase):
    def test_first_fetch_streams_and_saves_then_storage_serves(self):
        files = {"a.bin": os.urandom(300_000), "d/b.txt": b"hello on demand\n"}
        folder, base, repo = distribute(files, "on_demand")
        self.assertIsNone(artifact_of(repo, "a.bin"))
        status, headers, _ = get(base + "a.bin", method="HEAD")
        self.assertEqual((status, headers["x-pulp-artifact-size"]), (200, "300000"))
        self.assertIsNone(artifact_of(repo, "a.bin"))  # HEAD fetches nothing
        for path, data in files.items():
            status, headers, body = get(base + path)
            self.assertEqual(status, 200, path)
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertIsNotNone(artifact_of(repo, "a.bin"))
        self.assertIsNotNone(artifact_of(repo, "d/b.txt"))
        # Now from storage, even with the remote gone: sendfile, ETag, ranges.
        os.remove(os.path.join(nginx.root, folder, "a.bin"))
        status, headers, body = get(base + "a.bin", {"Range": "bytes=10-19"})
        self.assertEqual((status, body), (206, files["a.bin"][10:20]))
        self.assertIn("etag", headers)
        self.assertEqual(nginx.requests_for(f"{folder}/a.bin"), 1)
        # The publication's manifest lists on_demand files with their sizes.
        _, _, manifest = get(base + "PULP_MANIFEST")
        self.assertIn(f"a.bin,{hashlib.sha256(files['a.bin']).hexdigest()},300000",
                      manifest.decode())

    def test_fifty_concurrent_requests_download_once(self):
        data = os.urandom(4_000_000)
        folder, base, repo = distribute({"big.iso": data}, "on_demand")
        with concurrent.futures.ThreadPoolExecutor(50) as pool:
            results = list(pool.map(lambda _: get(base + "big.iso"), range(50)))
        digest = hashlib.sha256(data).hexdigest()
        self.assertEqual([r[0] for r in results], [200] * 50)
        self.assertTrue(all(hashlib.sha256(r[2]).hexdigest() == digest for r in results))
        self.assertEqual(nginx.requests_for(f"{folder}/big.iso"), 1)
        self.assertIsNotNone(artifact_of(repo, "big.iso"))

    def test_range_on_missing_content_fetches_then_serves_the_range(self):
        data = os.urandom(50_000)
        folder, base, repo = distribute({"r.bin": data}, "on_demand")
        status, headers, body = get(base + "r.bin", {"Range": "bytes=100-199"})
        self.assertEqual((status, body), (206, data[100:200]))
        self.assertEqual(headers["content-range"], "bytes 100-199/50000")
        status, _, _ = get(base + "r.bin", {"Range": "bytes=60000-"})
        self.assertEqual(status, 416)
        self.assertIsNotNone(artifact_of(repo, "r.bin"))

    def test_changed_or_missing_remote_file_saves_nothing(self):
        files = {"x.bin": os.urandom(200_000), "gone.bin": b"gone"}
        folder, base, repo = distribute(files, "on_demand")
        nginx.write(f"{folder}/x.bin", os.urandom(200_000))  # same size, other bytes
        try:
            status, _, body = get(base + "x.bin")
        except (http.client.HTTPException, ConnectionError):
            pass  # cut short: the client cannot take it for the file
        else:
            self.fail(f"a complete {status} response ({len(body)} bytes) for bytes that failed"
                      " their digest")
        self.assertIsNone(artifact_of(repo, "x.bin"))
        os.remove(os.path.join(nginx.root, folder, "gone.bin"))
        status, _, body = get(base + "gone.bin")
        self.assertEqual(status, 404, body)
        self.assertIsNone(artifact_of(repo, "gone.bin"))
        self.assertEqual(system.get(repo["pulp_href"]).json["latest_version_href"],
                         repo["pulp_href"] + "versions/1/")


class StreamedTest(unittest.TestCase):
    def test_streamed_content_is_served_and_never_saved(self):
        files = {"s.bin": os.urandom(120_000)}
        folder, base, repo = distribute(files, "streamed")
        for _ in range(2):
            status, _, body = get(base + "s.bin")
            self.assertEqual((status, body), (200, files["s.bin"]))
        status, _, body = get(base + "s.bin", {"Range": "bytes=-5"})
        self.assertEqual((status, body), (206, files["s.bin"][-5:]))
        self.assertIsNone(artifact_of(repo, "s.bin"))
        self.assertEqual(nginx.requests_for(f"{folder}/s.bin"), 3)


if __name__ == "__main__":
    unittest.main()
