"""File publications (PULP_MANIFEST) and distributions (base paths, overlap rules)."""
import hashlib
import os
import unittest
import uuid

from harness import API, PulpSystem

system = None
PUBS = API + "publications/file/file/"
DISTS = API + "distributions/file/file/"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def repo_with_files(files):
    repo = system.post(API + "repositories/file/file/", {"name": "r-" + uuid.uuid4().hex[:8]}).json
    for path, data in files.items():
        system.upload_into(repo["pulp_href"], path, data)
    return system.get(repo["pulp_href"]).json


def publish(**body):
    r = system.post(PUBS, body)
    assert r.status == 202, r
    task = system.wait_task(r.json["task"])
    assert task["state"] == "completed", task["error"]
    return task


def distribute(**body):
    r = system.post(DISTS, body)
    assert r.status == 202, r
    return system.wait_task(r.json["task"])


class PublicationTest(unittest.TestCase):
    def test_publish_writes_the_manifest(self):
        files = {"a.txt": os.urandom(10), "dir/b.bin": os.urandom(20)}
        repo = repo_with_files(files)
        task = publish(repository=repo["pulp_href"])
        pub = system.get(task["created_resources"][0]).json
        self.assertEqual(task["result"]["pulp_href"], pub["pulp_href"])
        self.assertEqual(pub["repository_version"], repo["latest_version_href"])
        self.assertEqual(pub["repository"], repo["pulp_href"])
        self.assertEqual(pub["manifest"], "PULP_MANIFEST")
        row = system.pg.psql(
            "SELECT a.file FROM core_publishedmetadata m JOIN core_artifact a ON a.pulp_id ="
            f" m.artifact_id WHERE m.publication_id = '{pub['prn'].rsplit(':', 1)[1]}'", db="pulp")
        with open(os.path.join(system.media, row)) as f:
            lines = sorted(f.read().splitlines())
        self.assertEqual(lines, sorted(f"{p},{hashlib.sha256(d).hexdigest()},{len(d)}"
                                       for p, d in files.items()))
        self.assertEqual(system.get(PUBS + f"?repository={repo['pulp_href']}").json["count"], 1)

    def test_publish_bad_input(self):
        repo = repo_with_files({})
        r = system.post(PUBS, {})
        self.assertEqual(r.json, {"non_field_errors": [
            "Either the 'repository' or 'repository_version' need to be specified"]})
        r = system.post(PUBS, {"repository": repo["pulp_href"],
                               "repository_version": repo["latest_version_href"]})
        self.assertEqual(r.status, 400)
        r = system.post(PUBS, {"repository": API + f"repositories/file/file/{uuid.uuid4()}/"})
        self.assertEqual(r.json, {"repository": ["Invalid hyperlink - Object does not exist."]})

    def test_delete_is_synchronous(self):
        repo = repo_with_files({"x": b"x"})
        pub = publish(repository_version=repo["latest_version_href"])["created_resources"][0]
        self.assertEqual(system.request("DELETE", pub).status, 204)
        self.assertEqual(system.get(pub).status, 404)


class DistributionTest(unittest.TestCase):
    def test_create_update_delete(self):
        repo = repo_with_files({"y": b"y"})
        pub = publish(repository=repo["pulp_href"])["created_resources"][0]
        base = "dist-" + uuid.uuid4().hex[:8]
        task = distribute(name=base, base_path=base, publication=pub)
        self.assertEqual(task["state"], "completed", task["error"])
        dist = system.get(task["created_resources"][0]).json
        self.assertEqual(dist["base_url"], f"http://127.0.0.1:24816/pulp/content/{base}/"
                         if os.environ.get("PULP_CONTENT_ORIGIN") else f"/pulp/content/{base}/")
        self.assertEqual((dist["publication"], dist["repository"]), (pub, None))
        self.assertIn(dist["pulp_href"], system.get(pub).json["distributions"])
        r = system.request("PATCH", dist["pulp_href"],
                           json_body={"publication": None, "repository": repo["pulp_href"]})
        self.assertEqual(r.status, 202)
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(dist["pulp_href"]).json["repository"], repo["pulp_href"])
        r = system.request("DELETE", dist["pulp_href"])
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(dist["pulp_href"]).status, 404)

    def test_base_path_rules(self):
        base = "tree-" + uuid.uuid4().hex[:8]
        self.assertEqual(distribute(name=base, base_path=base)["state"], "completed")
        cases = [
            ({"name": "n1" + base, "base_path": base}, {"base_path": ["This field must be unique."]}),
            ({"name": "n2" + base, "base_path": base + "/sub"},
             {"base_path": [f"Overlaps with existing distribution '{base}'"]}),
            ({"name": "n3" + base, "base_path": "/abs"}, None),
            ({"name": "n4" + base, "base_path": "a/../b"}, None),
            ({"name": base, "base_path": "other" + base}, {"name": ["This field must be unique."]}),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                r = system.post(DISTS, body)
                self.assertEqual(r.status, 400, r)
                if expected:
                    self.assertEqual(r.json, expected)
                else:
                    self.assertIn("base_path", r.json)
        repo = repo_with_files({})
        r = system.post(DISTS, {"name": "both" + base, "base_path": "both" + base,
                                "repository": repo["pulp_href"],
                                "publication": PUBS + f"{uuid.uuid4()}/"})
        self.assertEqual(r.status, 400)
        self.assertIn("non_field_errors", r.json)


if __name__ == "__main__":
    unittest.main()
