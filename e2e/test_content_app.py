"""pulp-content serving published files: bytes, Range, HEAD, conditional requests, listings."""
import hashlib
import os
import unittest
import uuid

from harness import API, PulpSystem

system = None
FILES = {"a.txt": os.urandom(5000), "dir/b.iso": os.urandom(70000), "dir/sub/c.json": b"{}"}


def setUpModule():
    global system, BASE
    system = PulpSystem()
    system.start()
    system.start_content()
    repo = system.post(API + "repositories/file/file/", {"name": "c-" + uuid.uuid4().hex[:6]}).json
    for path, data in FILES.items():
        system.upload_into(repo["pulp_href"], path, data)
    task = system.wait_task(system.post(API + "publications/file/file/",
                                        {"repository": repo["pulp_href"]}).json["task"])
    BASE = "served-" + uuid.uuid4().hex[:6]
    r = system.post(API + "distributions/file/file/",
                    {"name": BASE, "base_path": BASE, "publication": task["created_resources"][0]})
    assert system.wait_task(r.json["task"])["state"] == "completed"


def tearDownModule():
    system.stop()


def get(path, method="GET", headers=None):
    return system.content(path, method, headers)


class ServeTest(unittest.TestCase):
    def test_every_file_and_the_manifest(self):
        for path, data in FILES.items():
            status, headers, body = get(f"/pulp/content/{BASE}/{path}")
            self.assertEqual(status, 200, path)
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(data).hexdigest())
            self.assertEqual(headers["x-pulp-artifact-size"], str(len(data)))
        self.assertEqual(get(f"/pulp/content/{BASE}/a.txt")[1]["content-type"], "text/plain")
        self.assertEqual(get(f"/pulp/content/{BASE}/dir/sub/c.json")[1]["content-type"],
                         "application/json")
        status, _, manifest = get(f"/pulp/content/{BASE}/PULP_MANIFEST")
        self.assertEqual(status, 200)
        self.assertEqual(sorted(manifest.decode().splitlines()),
                         sorted(f"{p},{hashlib.sha256(d).hexdigest()},{len(d)}" for p, d in FILES.items()))

    def test_ranges(self):
        data = FILES["dir/b.iso"]
        path = f"/pulp/content/{BASE}/dir/b.iso"
        for header, start, end in [("bytes=0-99", 0, 99), ("bytes=100-", 100, len(data) - 1),
                                   ("bytes=-10", len(data) - 10, len(data) - 1),
                                   ("bytes=69990-80000", 69990, len(data) - 1)]:
            with self.subTest(header=header):
                status, headers, body = get(path, headers={"Range": header})
                self.assertEqual(status, 206)
                self.assertEqual(body, data[start:end + 1])
                self.assertEqual(headers["content-range"], f"bytes {start}-{end}/{len(data)}")
        for header in ("bytes=70000-", "bytes=-1-11", "items=0-1", "bytes=5-2"):
            with self.subTest(header=header):
                status, headers, _ = get(path, headers={"Range": header})
                self.assertEqual(status, 416)
                self.assertEqual(headers["content-range"], f"bytes */{len(data)}")

    def test_head_and_conditional_requests(self):
        path = f"/pulp/content/{BASE}/a.txt"
        status, headers, body = get(path, method="HEAD")
        self.assertEqual((status, body), (200, b""))
        self.assertEqual(headers["content-length"], str(len(FILES["a.txt"])))
        etag, modified = headers["etag"], headers["last-modified"]
        self.assertEqual(get(path, headers={"If-None-Match": etag})[0], 304)
        self.assertEqual(get(path, headers={"If-Modified-Since": modified})[0], 304)
        self.assertEqual(get(path, headers={"If-None-Match": '"other"'})[0], 200)

    def test_listings_and_redirects(self):
        status, headers, body = get(f"/pulp/content/{BASE}/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        text = body.decode()
        self.assertIn(f"<title>Index of /pulp/content/{BASE}/</title>", text)
        for name in ("a.txt", "dir/", "PULP_MANIFEST"):
            self.assertIn(f'<a href="./{name}">{name}</a>', text)
        self.assertIn("5.0 kB", text)
        self.assertEqual(get(f"/pulp/content/{BASE}")[0], 301)
        self.assertEqual(get(f"/pulp/content/{BASE}/dir")[1].get("location"),
                         f"/pulp/content/{BASE}/dir/")
        sub = get(f"/pulp/content/{BASE}/dir/")[2].decode()
        self.assertIn('<a href="./b.iso">b.iso</a>', sub)
        self.assertIn('<a href="./sub/">sub/</a>', sub)
        root = get("/pulp/content/")[2].decode()
        self.assertIn(f'<a href="./{BASE}/">{BASE}/</a>', root)
        self.assertNotIn('<a href="../">', root)

    def test_a_path_above_base_paths_lists_them(self):
        pub = system.get(API + "publications/file/file/").json["results"][0]["pulp_href"]
        parent = "p-" + uuid.uuid4().hex[:6]
        for child in ("bar", "baz/deep"):
            task = system.wait_task(system.post(API + "distributions/file/file/", {
                "name": f"{parent}-{child}", "base_path": f"{parent}/{child}",
                "publication": pub}).json["task"])
            self.assertEqual(task["state"], "completed", task["error"])
        status, _, body = get(f"/pulp/content/{parent}/")
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn(f"<title>Index of {parent}/</title>", text)
        self.assertIn('<a href="../">../</a>', text)
        for name in ("bar/", "baz/"):
            self.assertIn(f'<a href="./{name}">{name}</a>', text)
        self.assertEqual(get(f"/pulp/content/{parent}")[1].get("location"),
                         f"/pulp/content/{parent}/")
        self.assertEqual(get(f"/pulp/content/{parent}/nothing/")[0], 404)

    def test_not_found(self):
        self.assertEqual(get(f"/pulp/content/{BASE}/missing.txt")[:1], (404,))
        self.assertEqual(get("/pulp/content/no-such-distribution/x")[:1], (404,))
        self.assertEqual(get("/elsewhere")[:1], (404,))
        self.assertEqual(get(f"/pulp/content/{BASE}/a.txt", method="POST")[:1], (405,))

    def test_client_hanging_up_mid_download_does_not_kill_the_app(self):
        import socket
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", system.content_port))
            s.sendall(f"GET /pulp/content/{BASE}/dir/b.iso HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            s.recv(10)
            s.close()
        self.assertEqual(get(f"/pulp/content/{BASE}/a.txt")[0], 200)

    def test_content_app_is_online(self):
        status = system.get(API + "status/", auth=None).json
        self.assertEqual(len(status["online_content_apps"]), 1)


if __name__ == "__main__":
    unittest.main()
