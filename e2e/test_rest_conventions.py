"""REST conventions every Pulp list/detail endpoint shares (pulp-api.md §1.3, §1.4, §2).

Pagination, ordering, filters common to every filterset, field selection, content type,
correlation ids, 404/405 bodies, trailing slashes, href/PRN/timestamp formats. Uploads are the
test subject because they are cheap to create; each test works in its own range of `size`
values so tests never see each other's rows.
"""
import base64
import datetime
import http.client
import json
import random
import unittest
import urllib.parse
import uuid

from checks import (HEX32, TIMESTAMP, UUID_RE, body_json, create_artifact, create_upload,
                    parse_timestamp, pk_of, qs, unique_bytes)
from harness import ADMIN_PASSWORD, API, PulpSystem

system = None
UPLOADS = API + "uploads/"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def size_range(n):
    """A fresh block of n upload sizes no other test uses."""
    base = random.randrange(10**9, 9 * 10**12)
    return list(range(base, base + n))


def make_uploads(test, sizes):
    return [create_upload(test, system, s) for s in sizes]


def in_range(sizes, **params):
    return qs(UPLOADS, size__range=f"{min(sizes)},{max(sizes)}", **params)


def query_of(url):
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)


class PaginationTest(unittest.TestCase):
    def test_count_next_previous_are_absolute_and_keep_other_params(self):
        sizes = size_range(5)
        created = make_uploads(self, sizes)
        first = body_json(self, system.get(in_range(sizes, limit=2)), 200)
        self.assertEqual(list(first), ["count", "next", "previous", "results"])
        self.assertEqual(first["count"], 5)
        self.assertEqual(len(first["results"]), 2)
        self.assertIsNone(first["previous"])
        nxt = urllib.parse.urlsplit(first["next"])
        self.assertEqual(nxt.scheme, "http")
        self.assertEqual(nxt.netloc, f"127.0.0.1:{system.api_port}")
        self.assertEqual(nxt.path, UPLOADS)
        self.assertEqual(query_of(first["next"]),
                         {"size__range": [f"{sizes[0]},{sizes[-1]}"], "limit": ["2"],
                          "offset": ["2"]})

        second = body_json(self, system.get(first["next"]), 200)
        self.assertEqual(second["count"], 5)
        self.assertEqual(len(second["results"]), 2)
        # Going back to offset 0 drops the offset parameter altogether.
        self.assertEqual(query_of(second["previous"]),
                         {"size__range": [f"{sizes[0]},{sizes[-1]}"], "limit": ["2"]})
        self.assertEqual(urllib.parse.urlsplit(second["previous"]).netloc,
                         f"127.0.0.1:{system.api_port}")

        third = body_json(self, system.get(second["next"]), 200)
        self.assertEqual(len(third["results"]), 1)
        self.assertIsNone(third["next"])
        self.assertEqual(query_of(third["previous"])["offset"], ["2"])

        seen = [u["pulp_href"] for page in (first, second, third) for u in page["results"]]
        self.assertEqual(sorted(seen), sorted(u["pulp_href"] for u in created))

    def test_page_links_use_the_request_host(self):
        sizes = size_range(3)
        make_uploads(self, sizes)
        r = system.get(in_range(sizes, limit=1), headers={"Host": "pulp.example.org:8443"})
        page = body_json(self, r, 200)
        self.assertTrue(
            page["next"].startswith("http://pulp.example.org:8443/pulp/api/v3/uploads/?"),
            page["next"])
        r = system.get(page["next"], headers={"Host": "pulp.example.org:8443"})
        self.assertTrue(body_json(self, r, 200)["previous"].startswith(
            "http://pulp.example.org:8443/pulp/api/v3/uploads/?"))

    def test_next_is_null_when_the_page_reaches_the_end(self):
        sizes = size_range(2)
        make_uploads(self, sizes)
        page = body_json(self, system.get(in_range(sizes, limit=2)), 200)
        self.assertEqual((page["count"], page["next"], page["previous"]), (2, None, None))
        page = body_json(self, system.get(in_range(sizes, limit=1, offset=1)), 200)
        self.assertIsNone(page["next"])
        self.assertEqual(query_of(page["previous"]).get("offset"), None)

    def test_offset_past_the_end_gives_an_empty_page(self):
        sizes = size_range(2)
        make_uploads(self, sizes)
        page = body_json(self, system.get(in_range(sizes, offset=50)), 200)
        self.assertEqual(page["count"], 2)
        self.assertEqual(page["results"], [])
        self.assertIsNone(page["next"])
        self.assertIsNotNone(page["previous"])

    def test_default_page_size_is_100_and_garbage_limit_or_offset_fall_back(self):
        sizes = size_range(101)
        make_uploads(self, sizes)
        reference = body_json(self, system.get(in_range(sizes)), 200)
        self.assertEqual(reference["count"], 101)
        self.assertEqual(len(reference["results"]), 100)
        self.assertEqual(query_of(reference["next"])["limit"], ["100"])
        self.assertEqual(query_of(reference["next"])["offset"], ["100"])
        ref_hrefs = [u["pulp_href"] for u in reference["results"]]
        for limit in ("abc", "0", "-3", "1.5", ""):
            with self.subTest(limit=limit):
                page = body_json(self, system.get(in_range(sizes, limit=limit)), 200)
                self.assertEqual([u["pulp_href"] for u in page["results"]], ref_hrefs)
                self.assertEqual(query_of(page["next"])["limit"], ["100"])
                self.assertEqual(query_of(page["next"])["offset"], ["100"])
        for offset in ("abc", "-1", "", "0"):
            with self.subTest(offset=offset):
                page = body_json(self, system.get(in_range(sizes, offset=offset)), 200)
                self.assertEqual([u["pulp_href"] for u in page["results"]], ref_hrefs)
                self.assertIsNone(page["previous"])
        last = body_json(self, system.get(reference["next"]), 200)
        self.assertEqual(len(last["results"]), 1)
        self.assertNotIn(last["results"][0]["pulp_href"], ref_hrefs)


class OrderingTest(unittest.TestCase):
    def test_default_order_is_newest_first(self):
        sizes = size_range(4)
        created = make_uploads(self, [sizes[2], sizes[0], sizes[3], sizes[1]])
        page = body_json(self, system.get(in_range(sizes)), 200)
        self.assertEqual([u["pulp_href"] for u in page["results"]],
                         [u["pulp_href"] for u in reversed(created)])
        stamps = [parse_timestamp(u["pulp_created"]) for u in page["results"]]
        self.assertEqual(stamps, sorted(stamps, reverse=True))

    def test_ordering_ascending_and_descending(self):
        sizes = size_range(4)
        created = make_uploads(self, [sizes[2], sizes[0], sizes[3], sizes[1]])
        asc = body_json(self, system.get(in_range(sizes, ordering="size")), 200)
        self.assertEqual([u["size"] for u in asc["results"]], sizes)
        desc = body_json(self, system.get(in_range(sizes, ordering="-size")), 200)
        self.assertEqual([u["size"] for u in desc["results"]], list(reversed(sizes)))
        oldest = body_json(self, system.get(in_range(sizes, ordering="pulp_created")), 200)
        self.assertEqual([u["pulp_href"] for u in oldest["results"]],
                         [u["pulp_href"] for u in created])

    def test_ordering_by_pk_is_always_allowed(self):
        sizes = size_range(3)
        make_uploads(self, sizes)
        for ordering, reverse in (("pk", False), ("-pk", True), ("pulp_id", False)):
            with self.subTest(ordering=ordering):
                page = body_json(self, system.get(in_range(sizes, ordering=ordering)), 200)
                ids = [pk_of(u["pulp_href"]) for u in page["results"]]
                self.assertEqual(len(ids), 3)
                self.assertEqual(ids, sorted(ids, key=uuid.UUID, reverse=reverse))

    def test_unknown_ordering_field_is_rejected(self):
        r = system.get(qs(UPLOADS, ordering="no_such_field"))
        body = body_json(self, r, 400)
        self.assertEqual(body, {"ordering": [
            "Select a valid choice. no_such_field is not one of the available choices."]})

    def test_unknown_query_parameter_is_rejected(self):
        for path in (UPLOADS, API + "artifacts/", API + "tasks/", API + "content/file/files/"):
            with self.subTest(path=path):
                body = body_json(self, system.get(qs(path, foo="bar")), 400)
                self.assertEqual(body, {"errors": ["Invalid Filter: 'foo'"]})

    def test_reserved_parameters_are_not_filters(self):
        # limit/offset/ordering/fields/exclude_fields are never "Invalid Filter".
        r = system.get(qs(UPLOADS, limit=1, offset=0, ordering="-pulp_created", fields="size",
                          exclude_fields="prn"))
        body_json(self, r, 200)


class FieldSelectionTest(unittest.TestCase):
    def setUp(self):
        self.sizes = size_range(2)
        self.uploads = make_uploads(self, self.sizes)
        self.href = self.uploads[0]["pulp_href"]

    def test_fields_comma_separated_and_repeated(self):
        for params in ({"fields": "pulp_href,size"}, {"fields": ["pulp_href", "size"]},
                       {"fields": ["pulp_href,size", "nonexistent"]}):
            with self.subTest(params=params):
                detail = body_json(self, system.get(qs(self.href, **params)), 200)
                self.assertEqual(set(detail), {"pulp_href", "size"})
                self.assertEqual(detail["pulp_href"], self.href)
                listing = body_json(self, system.get(in_range(self.sizes, **params)), 200)
                self.assertEqual(listing["count"], 2)
                for item in listing["results"]:
                    self.assertEqual(set(item), {"pulp_href", "size"})

    def test_exclude_fields_comma_separated_and_repeated(self):
        full = set(body_json(self, system.get(self.href), 200))
        self.assertIn("prn", full)
        for params in ({"exclude_fields": "prn,pulp_created"},
                       {"exclude_fields": ["prn", "pulp_created"]}):
            with self.subTest(params=params):
                detail = body_json(self, system.get(qs(self.href, **params)), 200)
                self.assertEqual(set(detail), full - {"prn", "pulp_created"})
                listing = body_json(self, system.get(in_range(self.sizes, **params)), 200)
                for item in listing["results"]:
                    self.assertNotIn("prn", item)
                    self.assertNotIn("pulp_created", item)
                    self.assertIn("size", item)

    def test_unknown_field_names_are_ignored(self):
        detail = body_json(self, system.get(qs(self.href, fields="size,bogus")), 200)
        self.assertEqual(detail, {"size": self.sizes[0]})
        detail = body_json(self, system.get(qs(self.href, exclude_fields="bogus")), 200)
        self.assertIn("pulp_href", detail)


class IdentityFiltersTest(unittest.TestCase):
    def setUp(self):
        self.sizes = size_range(3)
        self.uploads = make_uploads(self, self.sizes)

    def listed(self, **params):
        page = body_json(self, system.get(in_range(self.sizes, **params)), 200)
        return sorted(u["pulp_href"] for u in page["results"])

    def test_pulp_id_in(self):
        a, b, _ = self.uploads
        want = sorted([a["pulp_href"], b["pulp_href"]])
        ids = [pk_of(a["pulp_href"]), pk_of(b["pulp_href"])]
        self.assertEqual(self.listed(pulp_id__in=",".join(ids)), want)
        self.assertEqual(self.listed(pulp_id__in=ids), want)

    def test_pulp_id_in_rejects_a_bad_uuid(self):
        body = body_json(self, system.get(qs(UPLOADS, pulp_id__in="not-a-uuid")), 400)
        self.assertEqual(body, {"pulp_id__in": ["Enter a valid UUID."]})

    def test_pulp_href_in_takes_hrefs_and_prns(self):
        a, b, c = self.uploads
        want = sorted([a["pulp_href"], c["pulp_href"]])
        self.assertEqual(self.listed(pulp_href__in=f"{a['pulp_href']},{c['pulp_href']}"), want)
        self.assertEqual(self.listed(pulp_href__in=f"{a['prn']},{c['pulp_href']}"), want)

    def test_pulp_href_in_takes_absolute_urls(self):
        a, b, _ = self.uploads
        url = f"http://pulp.example.org{a['pulp_href']}"
        self.assertEqual(self.listed(pulp_href__in=url), [a["pulp_href"]])

    def test_pulp_href_in_rejects_a_bad_href(self):
        r = system.get(qs(UPLOADS, pulp_href__in="/pulp/api/v3/uploads/nope/"))
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        self.assertIn("URI not valid: /pulp/api/v3/uploads/nope/", r.body.decode())

    def test_prn_in(self):
        a, b, c = self.uploads
        self.assertEqual(self.listed(prn__in=f"{b['prn']},{c['prn']}"),
                         sorted([b["pulp_href"], c["pulp_href"]]))

    def test_prn_in_rejects_a_bad_uuid(self):
        r = system.get(qs(UPLOADS, prn__in="prn:core.upload:not-a-uuid"))
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers["content-type"], "application/json")
        r = system.get(qs(UPLOADS, prn__in="/pulp/api/v3/uploads/"))
        self.assertEqual(r.status, 400, r)
        self.assertEqual(r.headers["content-type"], "application/json")


class TransportTest(unittest.TestCase):
    def test_content_type_is_exactly_application_json(self):
        upload = create_upload(self, system, 10)  # asserts it for the 201
        cases = [
            ("GET", UPLOADS, 200, {}),
            ("GET", upload["pulp_href"], 200, {}),
            ("GET", UPLOADS + str(uuid.uuid4()) + "/", 404, {}),
            ("GET", qs(UPLOADS, foo=1), 400, {}),
            ("PUT", UPLOADS, 405, {}),
            ("GET", UPLOADS, 401, {"auth": None}),
            ("GET", API + "status/", 200, {"auth": None}),
        ]
        for method, path, status, kw in cases:
            with self.subTest(method=method, path=path):
                r = system.request(method, path, **kw)
                self.assertEqual(r.status, status, r)
                self.assertEqual(r.headers.get("content-type"), "application/json")

    def test_correlation_id_is_echoed(self):
        for cid in (str(uuid.uuid4()), uuid.uuid4().hex):
            with self.subTest(cid=cid):
                r = system.get(UPLOADS, headers={"Correlation-ID": cid})
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers.get("correlation-id"), cid)
                r = system.get(UPLOADS + str(uuid.uuid4()) + "/", headers={"Correlation-ID": cid})
                self.assertEqual(r.status, 404)
                self.assertEqual(r.headers.get("correlation-id"), cid)

    def test_invalid_correlation_id_is_replaced(self):
        # django-guid only reuses a header that parses as a UUID; anything else gets a new id.
        for cid in ("abc123", "not a uuid", "x" * 40):
            with self.subTest(cid=cid):
                got = system.get(UPLOADS, headers={"Correlation-ID": cid}).headers.get(
                    "correlation-id")
                self.assertNotEqual(got, cid)
                self.assertRegex(got or "", HEX32)

    def test_keep_alive_connection_serves_many_requests(self):
        # pulp-cli (requests.Session) reuses one connection for everything.
        auth = {"Authorization": "Basic " +
                base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()}
        conn = http.client.HTTPConnection("127.0.0.1", system.api_port, timeout=30)
        try:
            def call(method, path, body=None, headers=None):
                conn.request(method, path, body=body, headers=headers or {})
                resp = conn.getresponse()
                return resp.status, resp.read()

            status, body = call("POST", UPLOADS, json.dumps({"size": 5}).encode(),
                                dict(auth, **{"Content-Type": "application/json"}))
            self.assertEqual(status, 201, body)
            href = json.loads(body)["pulp_href"]
            # A refused request whose body the server never needed to read...
            status, body = call("POST", UPLOADS, b'{"size": 7}' + b" " * 300_000,
                                {"Content-Type": "application/json"})
            self.assertEqual(status, 401, body)
            # ... must not leave bytes behind that poison the next request.
            status, body = call("GET", href, headers=auth)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["pulp_href"], href)
            status, body = call("GET", UPLOADS + "not-a-uuid/", headers=auth)
            self.assertEqual(status, 404, body)
            status, body = call("PUT", UPLOADS, b'{"a": 1}',
                                dict(auth, **{"Content-Type": "application/json"}))
            self.assertEqual(status, 405, body)
            status, body = call("GET", API + "status/")
            self.assertEqual(status, 200)
            self.assertIn("versions", json.loads(body))
        finally:
            conn.close()

    def test_head_is_get_without_a_body(self):
        r = system.request("HEAD", UPLOADS)
        self.assertEqual((r.status, r.body), (200, b""))
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertEqual(system.request("HEAD", API + "status/", auth=None).status, 200)

    def test_correlation_id_is_generated_when_absent(self):
        one = system.get(UPLOADS).headers.get("correlation-id")
        two = system.get(API + "status/", auth=None).headers.get("correlation-id")
        self.assertRegex(one or "", HEX32)
        self.assertRegex(two or "", HEX32)
        self.assertNotEqual(one, two)

    def test_unknown_pk_is_404_with_the_model_name(self):
        for path, model in ((UPLOADS, "Upload"), (API + "artifacts/", "Artifact"),
                            (API + "tasks/", "Task"), (API + "content/file/files/", "FileContent")):
            with self.subTest(path=path):
                body = body_json(self, system.get(f"{path}{uuid.uuid4()}/"), 404)
                self.assertEqual(body, {"detail": f"No {model} matches the given query."})

    def test_malformed_pk_is_404_not_found(self):
        for path in (UPLOADS, API + "artifacts/", API + "tasks/", API + "content/file/files/"):
            with self.subTest(path=path):
                body = body_json(self, system.get(path + "not-a-uuid/"), 404)
                self.assertEqual(body, {"detail": "Not found."})

    def test_method_not_allowed(self):
        task_like = f"{API}tasks/{uuid.uuid4()}/"
        for method, path in (("PUT", task_like), ("PUT", API + "artifacts/"),
                             ("POST", API + "status/"), ("DELETE", UPLOADS),
                             ("PATCH", create_upload(self, system, 3)["pulp_href"])):
            with self.subTest(method=method, path=path):
                r = system.request(method, path, json_body={})
                body = body_json(self, r, 405)
                self.assertEqual(body, {"detail": f'Method "{method}" not allowed.'})

    def test_slashless_paths_are_answered_without_redirect(self):
        upload = create_upload(self, system, 77)
        for path in (UPLOADS.rstrip("/"), upload["pulp_href"].rstrip("/"),
                     API + "status", API + "tasks"):
            with self.subTest(path=path):
                r = system.get(path)
                self.assertEqual(r.status, 200, r)
                self.assertNotIn("location", r.headers)
        slashless = body_json(self, system.get(upload["pulp_href"].rstrip("/")), 200)
        self.assertEqual(slashless, body_json(self, system.get(upload["pulp_href"]), 200))
        r = system.post(UPLOADS.rstrip("/"), {"size": 5})
        self.assertEqual(r.status, 201, r)

    def test_hrefs_are_relative_and_end_with_a_slash(self):
        upload = create_upload(self, system, 12)
        self.assertRegex(upload["pulp_href"], rf"^{UPLOADS}{UUID_RE}/$")
        artifact = create_artifact(self, system, unique_bytes(30))
        self.assertRegex(artifact["pulp_href"], rf"^{API}artifacts/{UUID_RE}/$")
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": "0" * 64})
        task = body_json(self, r, 202)
        self.assertEqual(list(task), ["task"])
        self.assertRegex(task["task"], rf"^{API}tasks/{UUID_RE}/$")
        listing = body_json(self, system.get(UPLOADS), 200)
        for item in listing["results"]:
            self.assertRegex(item["pulp_href"], rf"^{UPLOADS}{UUID_RE}/$")

    def test_created_resources_carry_a_location_header(self):
        r = system.post(UPLOADS, {"size": 2})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.headers.get("location"), r.json["pulp_href"])

    def test_prn_format_and_primary_keys(self):
        upload = create_upload(self, system, 13)
        pk = pk_of(upload["pulp_href"])
        self.assertEqual(upload["prn"], f"prn:core.upload:{pk}")
        self.assertEqual(uuid.UUID(pk).version, 7, "primary keys are UUIDv7")
        self.assertEqual(str(uuid.UUID(pk)), pk, "canonical lower-case hyphenated UUID")
        artifact = create_artifact(self, system, unique_bytes(31))
        self.assertEqual(artifact["prn"], f"prn:core.artifact:{pk_of(artifact['pulp_href'])}")
        task_href = system.post(upload["pulp_href"] + "commit/", {"sha256": "1" * 64}).json["task"]
        task = body_json(self, system.get(task_href), 200)
        self.assertEqual(task["prn"], f"prn:core.task:{pk_of(task_href)}")

    def test_timestamps_are_utc_with_z(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        upload = create_upload(self, system, 14)
        after = datetime.datetime.now(datetime.timezone.utc)
        for key in ("pulp_created", "pulp_last_updated"):
            with self.subTest(key=key):
                self.assertRegex(upload[key], TIMESTAMP)
                stamp = parse_timestamp(upload[key])
                slack = datetime.timedelta(seconds=5)
                self.assertTrue(before - slack <= stamp <= after + slack, (before, stamp, after))


if __name__ == "__main__":
    unittest.main()
