"""File repositories: CRUD, immutable versions, modify, content membership filters."""
import os
import unittest
import uuid

from harness import API, PulpSystem, multipart

system = None
REPOS = API + "repositories/file/file/"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def new_repo(**fields):
    body = {"name": "repo-" + uuid.uuid4().hex[:8], **fields}
    r = system.post(REPOS, body)
    assert r.status == 201, r
    return r.json


def new_content(path=None, data=None):
    body, ctype = multipart({"relative_path": path or f"dir/{uuid.uuid4().hex}.bin"},
                            {"file": ("f", data if data is not None else os.urandom(64))})
    r = system.request("POST", API + "content/file/files/", body=body, content_type=ctype)
    task = system.wait_task(r.json["task"])
    assert task["state"] == "completed", task
    return task["created_resources"][0]


def modify(repo, **body):
    r = system.post(repo["pulp_href"] + "modify/", body)
    assert r.status == 202, r
    return system.wait_task(r.json["task"])


def contents(version_href, filter_name="repository_version"):
    r = system.get(API + f"content/file/files/?{filter_name}={version_href}&limit=1000")
    assert r.status == 200, r
    return {c["pulp_href"] for c in r.json["results"]}


class CrudTest(unittest.TestCase):
    def test_create_shows_version_zero_and_upstream_fields(self):
        repo = new_repo(description="d", pulp_labels={"env": "test"})
        self.assertEqual(list(repo)[:4], ["pulp_href", "prn", "pulp_created", "pulp_last_updated"])
        self.assertTrue(repo["prn"].startswith("prn:file.filerepository:"))
        self.assertEqual(repo["latest_version_href"], repo["pulp_href"] + "versions/0/")
        self.assertEqual(repo["versions_href"], repo["pulp_href"] + "versions/")
        self.assertEqual((repo["autopublish"], repo["manifest"], repo["remote"]),
                         (False, "PULP_MANIFEST", None))
        v0 = system.get(repo["latest_version_href"]).json
        self.assertEqual(v0["number"], 0)
        self.assertEqual(v0["content_summary"], {"added": {}, "removed": {}, "present": {}})

    def test_bad_input(self):
        repo = new_repo()
        r = system.post(REPOS, {"name": repo["name"]})
        self.assertEqual((r.status, r.json), (400, {"name": ["This field must be unique."]}))
        self.assertEqual(system.post(REPOS, {}).json, {"name": ["This field is required."]})
        r = system.post(REPOS, {"name": "x" + uuid.uuid4().hex, "retain_repo_versions": 0})
        self.assertEqual(r.status, 400)
        self.assertIn("retain_repo_versions", r.json)
        r = system.post(REPOS, {"name": "y" + uuid.uuid4().hex, "bogus": 1})
        self.assertEqual(r.json, {"bogus": ["Unexpected field"]})

    def test_list_filters_by_name(self):
        repo = new_repo()
        r = system.get(REPOS + f"?name={repo['name']}")
        self.assertEqual(r.json["count"], 1)
        self.assertEqual(system.get(REPOS + "?name__startswith=repo-").status, 200)

    def test_update_unchanged_is_200_changed_is_a_task(self):
        repo = new_repo()
        r = system.request("PATCH", repo["pulp_href"], json_body={"name": repo["name"]})
        self.assertEqual(r.status, 200)
        r = system.request("PATCH", repo["pulp_href"], json_body={"description": "new", "autopublish": True})
        self.assertEqual(r.status, 202)
        task = system.wait_task(r.json["task"])
        self.assertEqual(task["state"], "completed")
        self.assertEqual(task["name"], "pulpcore.app.tasks.base.ageneral_update")
        self.assertIn(f"prn:file.filerepository:{repo['prn'].rsplit(':', 1)[1]}",
                      task["reserved_resources_record"])
        got = system.get(repo["pulp_href"]).json
        self.assertEqual((got["description"], got["autopublish"]), ("new", True))

    def test_delete_is_a_task(self):
        repo = new_repo()
        r = system.request("DELETE", repo["pulp_href"])
        self.assertEqual(r.status, 202)
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(repo["pulp_href"]).status, 404)

    def test_generic_lists_show_typed_hrefs(self):
        repo = new_repo()
        r = system.get(API + f"repositories/?name={repo['name']}")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["results"][0]["pulp_href"], repo["pulp_href"])
        self.assertEqual(system.get(API + "repositories/?pulp_type=file.file").status, 200)
        self.assertEqual(system.get(API + "repositories/?pulp_type=rpm.rpm").status, 400)
        versions = system.get(API + "repository_versions/?limit=1000").json["results"]
        self.assertIn(repo["latest_version_href"], [v["pulp_href"] for v in versions])

    def test_labels(self):
        repo = new_repo()
        r = system.post(repo["pulp_href"] + "set_label/", {"key": "k", "value": "v"})
        self.assertEqual((r.status, r.json), (201, {"key": "k", "value": "v"}))
        self.assertEqual(system.get(REPOS + "?pulp_label_select=k=v").json["count"], 1)


class VersionsTest(unittest.TestCase):
    def test_modify_adds_removes_and_keeps_history(self):
        repo = new_repo()
        a, b = new_content(), new_content()
        t1 = modify(repo, add_content_units=[a, b])
        v1 = repo["pulp_href"] + "versions/1/"
        self.assertEqual(t1["created_resources"], [v1])
        self.assertEqual(contents(v1), {a, b})
        t2 = modify(repo, remove_content_units=[a])
        v2 = repo["pulp_href"] + "versions/2/"
        self.assertEqual(t2["created_resources"], [v2])
        self.assertEqual(contents(v2), {b})
        self.assertEqual(contents(v1), {a, b}, "an old version must not change")
        self.assertEqual(contents(v2, "repository_version_removed"), {a})
        self.assertEqual(contents(v1, "repository_version_added"), {a, b})
        summary = system.get(v2).json["content_summary"]
        self.assertEqual(summary["removed"]["file.file"]["count"], 1)
        self.assertEqual(summary["present"]["file.file"]["count"], 1)
        self.assertEqual(summary["present"]["file.file"]["href"],
                         f"{API}content/file/files/?repository_version={v2}")
        self.assertEqual(system.get(repo["pulp_href"]).json["latest_version_href"], v2)
        # From a base version, and removing everything.
        modify(repo, base_version=v1, remove_content_units=[b])
        self.assertEqual(contents(repo["pulp_href"] + "versions/3/"), {a})
        modify(repo, remove_content_units=["*"])
        self.assertEqual(contents(repo["pulp_href"] + "versions/4/"), set())

    def test_no_change_creates_no_version(self):
        repo = new_repo()
        a = new_content()
        modify(repo, add_content_units=[a])
        task = modify(repo, add_content_units=[a])
        self.assertEqual(task["state"], "completed")
        self.assertEqual(task["created_resources"], [])
        self.assertEqual(system.get(repo["versions_href"]).json["count"], 2)

    def test_same_relative_path_replaces_and_duplicates_fail(self):
        repo = new_repo()
        path = f"same/{uuid.uuid4().hex}.txt"
        old, new = new_content(path, b"old"), new_content(path, b"new")
        modify(repo, add_content_units=[old])
        modify(repo, add_content_units=[new])
        self.assertEqual(contents(repo["pulp_href"] + "versions/2/"), {new})
        other = new_repo()
        task = modify(other, add_content_units=[old, new])
        self.assertEqual(task["state"], "failed")
        self.assertIn("duplicate values for relative_path", task["error"]["description"])
        self.assertEqual(system.get(other["versions_href"]).json["count"], 1)

    def test_modify_bad_input(self):
        repo = new_repo()
        missing = f"{API}content/file/files/{uuid.uuid4()}/"
        r = system.post(repo["pulp_href"] + "modify/", {"add_content_units": [missing]})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json["add_content_units"][0],
                         f"Could not find the following content units: ['{missing}']")
        r = system.post(repo["pulp_href"] + "modify/", {"remove_content_units": ["*", missing]})
        self.assertEqual(r.json, {"remove_content_units": ["Cannot supply content units and '*'."]})
        r = system.post(repo["pulp_href"] + "modify/", {"add_content_units": ["nonsense"]})
        self.assertEqual(r.json, {"add_content_units": ["URI not valid: nonsense"]})
        r = system.post(REPOS + f"{uuid.uuid4()}/modify/", {})
        self.assertEqual(r.status, 404)

    def test_version_list_filters_and_missing_versions(self):
        repo = new_repo()
        a = new_content()
        modify(repo, add_content_units=[a])
        versions = system.get(repo["versions_href"] + "?number__gte=1").json
        self.assertEqual([v["number"] for v in versions["results"]], [1])
        self.assertEqual(system.get(repo["versions_href"] + f"?content={a}").json["count"], 1)
        self.assertEqual(system.get(repo["pulp_href"] + "versions/9/").status, 404)
        r = system.get(API + f"content/file/files/?repository_version={repo['pulp_href']}versions/9/")
        self.assertEqual((r.status, r.json),
                         (400, {"repository_version": ["Invalid hyperlink - Object does not exist."]}))

    def test_content_create_into_a_repository_makes_a_version(self):
        repo = new_repo()
        body, ctype = multipart({"relative_path": "into/repo.txt", "repository": repo["pulp_href"]},
                                {"file": ("f", os.urandom(32))})
        r = system.request("POST", API + "content/file/files/", body=body, content_type=ctype)
        task = system.wait_task(r.json["task"])
        self.assertEqual(task["state"], "completed", task["error"])
        v1 = repo["pulp_href"] + "versions/1/"
        self.assertEqual(task["created_resources"][0], v1)
        content = task["created_resources"][1]
        self.assertEqual(contents(v1), {content})
        self.assertIn(f"prn:file.filerepository:{repo['prn'].rsplit(':', 1)[1]}",
                      task["reserved_resources_record"])
        body, ctype = multipart({"relative_path": "x.txt", "repository": REPOS + f"{uuid.uuid4()}/"},
                                {"file": ("f", b"z")})
        r = system.request("POST", API + "content/file/files/", body=body, content_type=ctype)
        self.assertEqual((r.status, r.json),
                         (400, {"repository": ["Invalid hyperlink - Object does not exist."]}))

    def test_delete_versions_squashes_changes(self):
        repo = new_repo()
        a, b, c = new_content(), new_content(), new_content()
        modify(repo, add_content_units=[a])            # v1: a
        modify(repo, add_content_units=[b])            # v2: a b
        modify(repo, remove_content_units=[a], add_content_units=[c])  # v3: b c
        r = system.request("DELETE", repo["pulp_href"] + "versions/2/")
        self.assertEqual(r.status, 202)
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(repo["pulp_href"] + "versions/2/").status, 404)
        self.assertEqual(contents(repo["pulp_href"] + "versions/1/"), {a})
        self.assertEqual(contents(repo["pulp_href"] + "versions/3/"), {b, c})
        self.assertEqual(contents(repo["pulp_href"] + "versions/3/", "repository_version_added"), {b, c})
        # Deleting the latest makes the previous one latest again.
        r = system.request("DELETE", repo["pulp_href"] + "versions/3/")
        system.wait_task(r.json["task"])
        self.assertEqual(system.get(repo["pulp_href"]).json["latest_version_href"],
                         repo["pulp_href"] + "versions/1/")
        modify(repo, add_content_units=[c])            # v4: a c
        self.assertEqual(contents(repo["pulp_href"] + "versions/4/"), {a, c})

    def test_the_only_version_cannot_be_deleted(self):
        repo = new_repo()
        r = system.request("DELETE", repo["pulp_href"] + "versions/0/")
        task = system.wait_task(r.json["task"])
        self.assertEqual(task["state"], "failed")
        self.assertIn("at least one repository version", task["error"]["description"])
        self.assertEqual(system.get(repo["pulp_href"] + "versions/0/").status, 200)

    def test_orphan_cleanup_keeps_content_held_by_a_repository(self):
        repo = new_repo()
        held, loose = new_content(), new_content()
        modify(repo, add_content_units=[held])
        r = system.post(API + "orphans/cleanup/", {"orphan_protection_time": 0})
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(held).status, 200)
        self.assertEqual(system.get(loose).status, 404)


if __name__ == "__main__":
    unittest.main()
