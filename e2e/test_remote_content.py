"""Content synced on_demand or streamed, served by pulp-content from a real nginx remote."""
import concurrent.futures
import hashlib
import http.client
import http.server
import os
import threading
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


class ImmediateTest(unittest.TestCase):
    def test_every_synced_file_is_served_from_storage(self):
        files = {f"i/{n}.bin": os.urandom(n * 1000 + 1) for n in range(1, 12)}
        folder, base, repo = distribute(files, "immediate")
        for path, data in files.items():
            self.assertIsNotNone(artifact_of(repo, path))
            status, _, body = get(base + path)
            self.assertEqual(status, 200, path)
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
        self.assertEqual(nginx.requests_for(f"{folder}/i/1.bin"), 1)  # the sync's download only


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


class StalledRemoteTest(unittest.TestCase):
    def test_a_stalled_remote_holds_up_no_one_else(self):
        stored_folder, stored_base, _ = distribute({"here.txt": b"stored"}, "on_demand")
        self.assertEqual(get(stored_base + "here.txt")[0], 200)  # now from storage
        release = threading.Event()
        data = os.urandom(1000)
        manifest = f"slow.bin,{hashlib.sha256(data).hexdigest()},{len(data)}\n".encode()

        class Stalling(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.endswith("PULP_MANIFEST"):
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(manifest)))
                    self.end_headers()
                    self.wfile.write(manifest)
                else:
                    release.wait(120)  # the file never comes while the test runs

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stalling)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            name = uuid.uuid4().hex[:8]
            remote = system.post(API + "remotes/file/file/", {
                "name": name, "policy": "on_demand",
                "url": f"http://127.0.0.1:{server.server_address[1]}/PULP_MANIFEST"}).json
            repo = system.post(API + "repositories/file/file/",
                               {"name": name, "remote": remote["pulp_href"], "autopublish": True}).json
            system.wait_task(system.post(repo["pulp_href"] + "sync/", {}).json["task"])
            system.wait_task(system.post(API + "distributions/file/file/", {
                "name": name, "base_path": name, "repository": repo["pulp_href"]}).json["task"])
            stuck = [threading.Thread(target=lambda: get(f"/pulp/content/{name}/slow.bin"),
                                      daemon=True) for _ in range(8)]
            for t in stuck:
                t.start()
            # Every event loop of pulp-content gets new connections; each must still answer.
            for _ in range(40):
                status, _, body = system.content(stored_base + "here.txt", timeout=20)
                self.assertEqual((status, body), (200, b"stored"))
        finally:
            release.set()
            server.shutdown()


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
