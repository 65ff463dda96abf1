"""File remotes: create, validation, write-only secrets, update and delete as tasks."""
import unittest
import uuid

from harness import API, PulpSystem

system = None
REMOTES = API + "remotes/file/file/"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def new_remote(**fields):
    body = {"name": "remote-" + uuid.uuid4().hex[:8], "url": "http://127.0.0.1:1/PULP_MANIFEST",
            **fields}
    r = system.post(REMOTES, body)
    assert r.status == 201, r
    return r.json


class RemoteTest(unittest.TestCase):
    def test_create_defaults_and_hidden_secrets(self):
        remote = new_remote(policy="on_demand", username="u", password="p")
        self.assertTrue(remote["prn"].startswith("prn:file.fileremote:"))
        self.assertEqual(remote["policy"], "on_demand")
        self.assertEqual(remote["tls_validation"], True)
        self.assertNotIn("password", remote)
        hidden = {h["name"]: h["is_set"] for h in remote["hidden_fields"]}
        self.assertEqual(hidden, {"client_key": False, "proxy_username": False,
                                  "proxy_password": False, "username": True, "password": True})
        self.assertEqual(system.get(REMOTES + f"?name={remote['name']}").json["count"], 1)

    def test_validation_errors(self):
        cases = [
            ({"url": "http://user:pw@host/PULP_MANIFEST"}, "url"),
            ({"policy": "sometimes"}, "policy"),
            ({"proxy_url": "http://u:p@proxy:3128"}, "proxy_url"),
            ({"proxy_url": "http://proxy:3128", "proxy_username": "u"}, "non_field_errors"),
            ({"ca_cert": "not a pem"}, "ca_cert"),
            ({"download_concurrency": 0}, "download_concurrency"),
            ({"total_timeout": -1}, "total_timeout"),
        ]
        for extra, field in cases:
            with self.subTest(extra=extra):
                body = {"name": "bad-" + uuid.uuid4().hex[:8], "url": "http://h/PULP_MANIFEST", **extra}
                r = system.post(REMOTES, body)
                self.assertEqual(r.status, 400, r)
                self.assertIn(field, r.json)
        existing = new_remote()
        r = system.post(REMOTES, {"name": existing["name"], "url": "http://h/"})
        self.assertEqual(r.json, {"name": ["This field must be unique."]})
        self.assertEqual(system.post(REMOTES, {"name": "x"}).json, {"url": ["This field is required."]})

    def test_update_and_delete(self):
        remote = new_remote()
        r = system.request("PATCH", remote["pulp_href"], json_body={"url": remote["url"]})
        self.assertEqual(r.status, 200)
        r = system.request("PATCH", remote["pulp_href"],
                           json_body={"policy": "streamed", "headers": [{"X-A": "b"}]})
        self.assertEqual(r.status, 202)
        task = system.wait_task(r.json["task"])
        self.assertEqual(task["state"], "completed", task["error"])
        got = system.get(remote["pulp_href"]).json
        self.assertEqual((got["policy"], got["headers"]), ("streamed", [{"X-A": "b"}]))
        r = system.request("DELETE", remote["pulp_href"])
        self.assertEqual(system.wait_task(r.json["task"])["state"], "completed")
        self.assertEqual(system.get(remote["pulp_href"]).status, 404)


if __name__ == "__main__":
    unittest.main()
