"""Tasks (pulp-api.md §3.9, §8): the task JSON, list filters, cancel and delete.

Tasks are produced through the public API only: upload commits (completed or failed) and file
content creation. Each test tags its tasks with its own Correlation-ID and filters by it, so
tests never see each other's tasks."""
import datetime
import unittest
import uuid

from checks import (TIMESTAMP, UUID_RE, body_json, create_upload, parse_timestamp, pk_of,
                    put_chunk, qs, sha256, unique_bytes, wait_task)
from harness import API, PulpSystem

system = None
TASKS = API + "tasks/"
COMMIT = "pulpcore.app.tasks.upload.commit"
CREATE = "pulpcore.app.tasks.base.general_create"


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def commit_task(test, cid, good=True):
    """Dispatches an upload commit under correlation id `cid`; returns (task, upload)."""
    data = unique_bytes(50, b"task")
    upload = create_upload(test, system, len(data))
    test.assertEqual(put_chunk(system, upload["pulp_href"], data, 0).status, 200)
    digest = sha256(data) if good else sha256(b"wrong")
    r = system.post(upload["pulp_href"] + "commit/", {"sha256": digest},
                    headers={"Correlation-ID": cid})
    href = body_json(test, r, 202)["task"]
    task = wait_task(test, system, href)
    test.assertEqual(task["state"], "completed" if good else "failed", task["error"])
    return task, upload


def content_task(test, cid):
    r = system.post_multipart(API + "content/file/files/",
                              fields={"relative_path": f"tasks/{uuid.uuid4().hex}.txt"},
                              files={"file": ("f", unique_bytes(40, b"ct"))},
                              headers={"Correlation-ID": cid})
    task = wait_task(test, system, body_json(test, r, 202)["task"])
    test.assertEqual(task["state"], "completed", task["error"])
    return task


def listed(test, **params):
    return body_json(test, system.get(qs(TASKS, **params)), 200)


def hrefs(page):
    return [t["pulp_href"] for t in page["results"]]


def domain_record(task):
    records = [r for r in task["reserved_resources_record"]
               if r.startswith("shared:prn:core.domain:")]
    return records


class TaskJsonTest(unittest.TestCase):
    def test_completed_task_fields(self):
        cid = str(uuid.uuid4())
        before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
        task, upload = commit_task(self, cid)
        for key in ("pulp_href", "prn", "pulp_created", "pulp_last_updated", "state", "name",
                    "logging_cid", "created_by", "unblocked_at", "started_at", "finished_at",
                    "error", "worker", "parent_task", "child_tasks", "task_group",
                    "progress_reports", "created_resources", "created_resource_prns",
                    "reserved_resources_record", "result"):
            self.assertIn(key, task)
        self.assertRegex(task["pulp_href"], rf"^{TASKS}{UUID_RE}/$")
        self.assertEqual(task["prn"], f"prn:core.task:{pk_of(task['pulp_href'])}")
        self.assertEqual(task["name"], COMMIT)
        self.assertEqual(task["logging_cid"], cid)
        self.assertRegex(task["created_by"], rf"^{API}users/\d+/$")
        for key in ("pulp_created", "started_at", "finished_at"):
            self.assertRegex(task[key], TIMESTAMP, key)
        started = parse_timestamp(task["started_at"])
        finished = parse_timestamp(task["finished_at"])
        self.assertLessEqual(before, started)
        self.assertLessEqual(started, finished)
        self.assertLessEqual(parse_timestamp(task["pulp_created"]), started)
        self.assertIsNone(task["error"])
        self.assertIsNone(task["worker"])
        self.assertIsNone(task["parent_task"])
        self.assertEqual(task["child_tasks"], [])
        self.assertIsNone(task["task_group"])
        self.assertIsNone(task["result"])
        [artifact] = task["created_resources"]
        self.assertRegex(artifact, rf"^{API}artifacts/{UUID_RE}/$")
        self.assertEqual(task["created_resource_prns"], [f"prn:core.artifact:{pk_of(artifact)}"])
        record = task["reserved_resources_record"]
        self.assertIn(f"prn:core.upload:{pk_of(upload['pulp_href'])}", record)
        [domain] = domain_record(task)
        self.assertRegex(domain, rf"^shared:prn:core\.domain:{UUID_RE}$")
        self.assertEqual(body_json(self, system.get(task["pulp_href"]), 200), task)

    def test_failed_task_has_an_error_description(self):
        task, _ = commit_task(self, uuid.uuid4().hex, good=False)
        self.assertEqual(task["state"], "failed")
        self.assertIsInstance(task["error"], dict)
        self.assertIn("The sha256 checksum did not match.", task["error"]["description"])
        self.assertEqual(task["created_resources"], [])
        self.assertIsNotNone(task["finished_at"])

    def test_content_create_task_result_is_the_content(self):
        task = content_task(self, uuid.uuid4().hex)
        self.assertEqual(task["name"], CREATE)
        [href] = task["created_resources"]
        self.assertEqual(task["result"], body_json(self, system.get(href), 200))
        self.assertEqual(len(domain_record(task)), 1)

    def test_every_task_shares_the_same_domain(self):
        a, _ = commit_task(self, uuid.uuid4().hex)
        b = content_task(self, uuid.uuid4().hex)
        self.assertEqual(domain_record(a), domain_record(b))

    def test_generated_correlation_id_becomes_logging_cid(self):
        data = unique_bytes(20, b"nocid")
        upload = create_upload(self, system, len(data))
        put_chunk(system, upload["pulp_href"], data, 0)
        r = system.post(upload["pulp_href"] + "commit/", {"sha256": sha256(data)})
        task = wait_task(self, system, body_json(self, r, 202)["task"])
        self.assertEqual(task["logging_cid"], r.headers["correlation-id"])

    def test_fields_selection(self):
        task, _ = commit_task(self, uuid.uuid4().hex)
        sel = body_json(self, system.get(qs(task["pulp_href"], fields="state,name")), 200)
        self.assertEqual(sel, {"state": "completed", "name": COMMIT})
        page = listed(self, logging_cid=task["logging_cid"], exclude_fields="result,error")
        self.assertNotIn("result", page["results"][0])
        self.assertIn("state", page["results"][0])

    def test_minimal_serializer(self):
        task, _ = commit_task(self, uuid.uuid4().hex)
        page = listed(self, logging_cid=task["logging_cid"], minimal="true")
        self.assertEqual(set(page["results"][0]),
                         {"pulp_href", "prn", "pulp_created", "pulp_last_updated",
                          "pulp_api_version", "name", "state", "unblocked_at", "started_at",
                          "finished_at", "worker"})


class FilterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cid = uuid.uuid4().hex
        cls.ok, cls.ok_upload = commit_task(cls._helper(), cls.cid)
        cls.bad, cls.bad_upload = commit_task(cls._helper(), cls.cid, good=False)
        cls.content = content_task(cls._helper(), cls.cid)
        cls.all = {cls.ok["pulp_href"], cls.bad["pulp_href"], cls.content["pulp_href"]}

    @staticmethod
    def _helper():
        return unittest.TestCase()

    def scoped(self, **params):
        return set(hrefs(listed(self, logging_cid=self.cid, **params)))

    def test_logging_cid(self):
        self.assertEqual(self.scoped(), self.all)
        self.assertEqual(listed(self, logging_cid=uuid.uuid4().hex)["count"], 0)
        page = listed(self, logging_cid__contains=self.cid[4:20])
        self.assertTrue(self.all <= set(hrefs(page)))

    def test_state(self):
        self.assertEqual(self.scoped(state="completed"),
                         {self.ok["pulp_href"], self.content["pulp_href"]})
        self.assertEqual(self.scoped(state="failed"), {self.bad["pulp_href"]})
        self.assertEqual(self.scoped(state="running"), set())
        self.assertEqual(self.scoped(state__ne="completed"), {self.bad["pulp_href"]})

    def test_state_in(self):
        self.assertEqual(self.scoped(state__in="completed,failed"), self.all)
        self.assertEqual(self.scoped(state__in=["failed", "canceled"]), {self.bad["pulp_href"]})

    def test_state_rejects_unknown_values(self):
        body = body_json(self, system.get(qs(TASKS, state="sleeping")), 400)
        self.assertEqual(body, {"state": [
            "Select a valid choice. sleeping is not one of the available choices."]})

    def test_name(self):
        self.assertEqual(self.scoped(name=COMMIT), {self.ok["pulp_href"], self.bad["pulp_href"]})
        self.assertEqual(self.scoped(name=CREATE), {self.content["pulp_href"]})
        self.assertEqual(self.scoped(name__contains="tasks.upload"),
                         {self.ok["pulp_href"], self.bad["pulp_href"]})
        self.assertEqual(self.scoped(name__contains="general_"), {self.content["pulp_href"]})
        self.assertEqual(self.scoped(name__in=f"{COMMIT},{CREATE}"), self.all)

    def test_created_resources(self):
        [artifact] = self.ok["created_resources"]
        self.assertEqual(set(hrefs(listed(self, created_resources=artifact))),
                         {self.ok["pulp_href"]})
        [content] = self.content["created_resources"]
        self.assertEqual(set(hrefs(listed(self, created_resources=content))),
                         {self.content["pulp_href"]})

    def test_reserved_resources(self):
        upload_prn = f"prn:core.upload:{pk_of(self.ok_upload['pulp_href'])}"
        self.assertEqual(set(hrefs(listed(self, reserved_resources=upload_prn))),
                         {self.ok["pulp_href"]})
        # An href under the API root is turned into its PRN (the failed commit kept its upload).
        self.assertEqual(set(hrefs(listed(self, reserved_resources=self.bad_upload["pulp_href"]))),
                         {self.bad["pulp_href"]})
        self.assertEqual(set(hrefs(listed(self, exclusive_resources=upload_prn))),
                         {self.ok["pulp_href"]})
        self.assertEqual(set(hrefs(listed(self, shared_resources=upload_prn))), set())
        bad_prn = f"prn:core.upload:{pk_of(self.bad_upload['pulp_href'])}"
        self.assertEqual(set(hrefs(listed(self, reserved_resources__in=f"{upload_prn},{bad_prn}"))),
                         {self.ok["pulp_href"], self.bad["pulp_href"]})
        [domain] = domain_record(self.ok)
        self.assertEqual(self.scoped(shared_resources=domain[len("shared:"):]), self.all)

    def test_ordering(self):
        newest_first = hrefs(listed(self, logging_cid=self.cid))
        created = [self.ok["pulp_href"], self.bad["pulp_href"], self.content["pulp_href"]]
        self.assertEqual(newest_first, list(reversed(created)))
        self.assertEqual(hrefs(listed(self, logging_cid=self.cid, ordering="pulp_created")),
                         created)
        by_name = hrefs(listed(self, logging_cid=self.cid, ordering="-name,pulp_created"))
        self.assertEqual(by_name, [self.ok["pulp_href"], self.bad["pulp_href"],
                                   self.content["pulp_href"]])
        by_state = hrefs(listed(self, logging_cid=self.cid, ordering="state,-pulp_created"))
        self.assertEqual(by_state, [self.content["pulp_href"], self.ok["pulp_href"],
                                    self.bad["pulp_href"]])
        for field in ("pk", "-pk", "unblocked_at", "-finished_at", "logging_cid"):
            with self.subTest(ordering=field):
                page = listed(self, logging_cid=self.cid, ordering=field)
                self.assertEqual(set(hrefs(page)), self.all)
        self.assertEqual(body_json(self, system.get(qs(TASKS, ordering="colour")), 400),
                         {"ordering": [
                             "Select a valid choice. colour is not one of the available choices."]})

    def test_datetime_filters(self):
        started = self.ok["started_at"]
        self.assertIn(self.ok["pulp_href"], self.scoped(started_at__gte=started))
        self.assertNotIn(self.ok["pulp_href"], self.scoped(started_at__lt=started))
        body = body_json(self, system.get(qs(TASKS, started_at__gt="yesterday")), 400)
        self.assertEqual(list(body), ["started_at__gt"])


class CancelDeleteTest(unittest.TestCase):
    def test_cancel_completed_task_is_409_with_the_task(self):
        task, _ = commit_task(self, uuid.uuid4().hex)
        r = system.request("PATCH", task["pulp_href"], json_body={"state": "canceled"})
        self.assertEqual(body_json(self, r, 409), task)
        self.assertEqual(body_json(self, system.get(task["pulp_href"]), 200)["state"], "completed")

    def test_cancel_failed_task_is_409(self):
        task, _ = commit_task(self, uuid.uuid4().hex, good=False)
        r = system.request("PATCH", task["pulp_href"], json_body={"state": "canceled"})
        self.assertEqual(body_json(self, r, 409)["state"], "failed")

    def test_cancel_with_another_state_is_400(self):
        task, _ = commit_task(self, uuid.uuid4().hex)
        for state in ("completed", "canceling", "", "waiting"):
            with self.subTest(state=state):
                r = system.request("PATCH", task["pulp_href"], json_body={"state": state})
                body = body_json(self, r, 400)
                if state == "":
                    self.assertEqual(body, {"state": ["This field may not be blank."]})
                else:
                    self.assertEqual(body, {"state": [
                        "The only acceptable value for 'state' is 'canceled'."]})
        r = system.request("PATCH", task["pulp_href"], json_body={})
        self.assertEqual(body_json(self, r, 400), {"state": ["This field is required."]})

    def test_cancel_unknown_task_is_404(self):
        r = system.request("PATCH", f"{TASKS}{uuid.uuid4()}/", json_body={"state": "canceled"})
        self.assertEqual(body_json(self, r, 404), {"detail": "No Task matches the given query."})

    def test_delete_finished_task(self):
        for good in (True, False):
            with self.subTest(good=good):
                task, _ = commit_task(self, uuid.uuid4().hex, good=good)
                r = system.request("DELETE", task["pulp_href"])
                self.assertEqual((r.status, r.body), (204, b""))
                self.assertEqual(body_json(self, system.get(task["pulp_href"]), 404),
                                 {"detail": "No Task matches the given query."})
                self.assertEqual(listed(self, logging_cid=task["logging_cid"])["count"], 0)
        r = system.request("DELETE", f"{TASKS}{uuid.uuid4()}/")
        self.assertEqual(r.status, 404)

    def test_put_is_not_allowed(self):
        task, _ = commit_task(self, uuid.uuid4().hex)
        r = system.request("PUT", task["pulp_href"], json_body={"state": "canceled"})
        self.assertEqual(body_json(self, r, 405), {"detail": 'Method "PUT" not allowed.'})


if __name__ == "__main__":
    unittest.main()
