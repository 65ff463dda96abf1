"""The gRPC links between tiers: grpc.health.v1 on the API and content apps (addresses from
their heartbeat rows), and content cache invalidation: a change to what a distribution serves
is visible on pulp-content's next request."""
import hashlib
import os
import unittest
import uuid

import grpc

from grpc_probe import health
from harness import API, PulpSystem

system = None


def setUpModule():
    global system
    system = PulpSystem().start()
    system.start_content()


def tearDownModule():
    system.stop()


def addresses(app_type):
    rows = system.pg.psql(f"SELECT grpc_address FROM core_appstatus WHERE app_type = '{app_type}'",
                          db="pulp")
    return [r for r in rows.splitlines() if r]


def upload(repo, path, data):
    system.upload_into(repo["pulp_href"], path, data)


def publish(repo):
    task = system.wait_task(system.post(API + "publications/file/file/",
                                        {"repository": repo["pulp_href"]}).json["task"])
    assert task["state"] == "completed", task["error"]
    return task["created_resources"][0]


def body_of(path):
    status, _, body = system.content(path)
    return status, hashlib.sha256(body).hexdigest()[:12] if status == 200 else body


class HealthTest(unittest.TestCase):
    def test_api_and_content_serve_grpc_health(self):
        for app_type in ("api", "content"):
            found = addresses(app_type)
            self.assertEqual(len(found), 1, app_type)
            self.assertEqual(health(found[0]), "SERVING", app_type)

    def test_unknown_service_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as e:
            health(addresses("content")[0], "no.such.Service")
        self.assertEqual(e.exception.code(), grpc.StatusCode.NOT_FOUND)


class InvalidationTest(unittest.TestCase):
    def test_changes_are_visible_on_the_next_request(self):
        one, two = os.urandom(1000), os.urandom(2000)
        repo = system.post(API + "repositories/file/file/", {"name": "g-" + uuid.uuid4().hex[:6]}).json
        upload(repo, "f.bin", one)
        pub1 = publish(repo)
        base = "g-" + uuid.uuid4().hex[:6]
        url = f"/pulp/content/{base}/f.bin"
        self.assertEqual(system.content(url)[0], 404)  # cached: no such distribution yet
        dist = system.wait_task(system.post(API + "distributions/file/file/", {
            "name": base, "base_path": base, "publication": pub1}).json["task"])
        dist_href = dist["created_resources"][0]
        self.assertEqual(body_of(url), (200, hashlib.sha256(one).hexdigest()[:12]))

        # Serve the repository instead: its newest publication, then a newer one.
        system.wait_task(system.request("PATCH", dist_href, json_body={
            "publication": None, "repository": repo["pulp_href"]}).json["task"])
        self.assertEqual(body_of(url)[0], 200)
        upload(repo, "f.bin", two)
        publish(repo)
        self.assertEqual(body_of(url), (200, hashlib.sha256(two).hexdigest()[:12]))

        # Deleting the publication falls back to the previous one; deleting the distribution
        # ends it.
        newest = system.get(API + f"publications/file/file/?repository={repo['pulp_href']}").json
        self.assertEqual(system.request("DELETE", newest["results"][0]["pulp_href"]).status, 204)
        self.assertEqual(body_of(url), (200, hashlib.sha256(one).hexdigest()[:12]))
        system.wait_task(system.request("DELETE", dist_href).json["task"])
        self.assertEqual(system.content(url)[0], 404)

    def test_invalidate_rpc_answers_with_what_it_dropped(self):
        system.content("/pulp/content/")  # loads the cache
        with grpc.insecure_channel(addresses("content")[0]) as channel:
            invalidate = channel.unary_unary("/pulp.v1.ContentCache/Invalidate",
                                             request_serializer=lambda b: b,
                                             response_deserializer=lambda b: b)
            reply = invalidate(b"\x12\x04test", timeout=5)  # reason = "test"
        # Field 1 (dropped) is present when non-zero; the cache held the distributions.
        count = int(system.pg.psql("SELECT count(*) FROM core_distribution", db="pulp"))
        self.assertEqual(reply, b"" if count == 0 else b"\x08" + bytes([count]))


if __name__ == "__main__":
    unittest.main()
