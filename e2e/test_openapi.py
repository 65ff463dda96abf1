"""The OpenAPI document (pulp-api.md §1.5, §7; clients.md §1, §2, §4, §5).

pulp-cli builds every call from /pulp/api/v3/docs/api.json: operationIds, href-templated path
keys, parameter types and request encodings must be what it expects; the document must also be
valid OpenAPI 3 once the href-templated keys get a leading "/"."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import yaml

from checks import body_json
from harness import API, PulpSystem

system = None
DOC = API + "docs/api.json"
NODE_MODULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".deps",
                            "node_modules")

# operationId -> (path key, method), for the endpoints this server implements.
OPERATIONS = {
    "status_read": ("/pulp/api/v3/status/", "get"),
    "livez_read": ("/pulp/api/v3/livez/", "get"),
    "artifacts_list": ("/pulp/api/v3/artifacts/", "get"),
    "artifacts_create": ("/pulp/api/v3/artifacts/", "post"),
    "artifacts_read": ("{artifact_href}", "get"),
    "artifacts_delete": ("{artifact_href}", "delete"),
    "uploads_list": ("/pulp/api/v3/uploads/", "get"),
    "uploads_create": ("/pulp/api/v3/uploads/", "post"),
    "uploads_read": ("{upload_href}", "get"),
    "uploads_update": ("{upload_href}", "put"),
    "uploads_delete": ("{upload_href}", "delete"),
    "uploads_commit": ("{upload_href}commit/", "post"),
    "content_file_files_list": ("/pulp/api/v3/content/file/files/", "get"),
    "content_file_files_create": ("/pulp/api/v3/content/file/files/", "post"),
    "content_file_files_read": ("{file_file_content_href}", "get"),
    "content_file_files_upload": ("/pulp/api/v3/content/file/files/upload/", "post"),
    "tasks_list": ("/pulp/api/v3/tasks/", "get"),
    "tasks_read": ("{task_href}", "get"),
    "tasks_cancel": ("{task_href}", "patch"),
    "tasks_delete": ("{task_href}", "delete"),
}
LISTS = ["artifacts_list", "uploads_list", "content_file_files_list", "tasks_list"]
FILE_BODIES = ["artifacts_create", "uploads_update", "content_file_files_create",
               "content_file_files_upload"]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def setUpModule():
    global system
    system = PulpSystem().start()


def tearDownModule():
    system.stop()


def operations(doc):
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(doc, schema):
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = doc["components"]["schemas"][name]
    return schema


class DocumentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = system.get(DOC, auth=None, headers={"Accept": "application/json"})
        assert r.status == 200, r
        cls.doc = json.loads(r.body)
        cls.by_id = {op["operationId"]: (path, method, op) for path, method, op in
                     operations(cls.doc)}

    def test_served_without_auth_as_json(self):
        r = system.get(DOC, auth=None, headers={"Accept": "application/json"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-type"), "application/json")
        self.assertTrue(self.doc["openapi"].startswith("3."))
        self.assertEqual(self.doc["info"]["version"], "v3")
        self.assertIs(self.doc["info"]["x-pulp-domain-enabled"], False)

    def test_default_media_type_is_the_openapi_one(self):
        r = system.get(DOC, auth=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers.get("content-type"), "application/vnd.oai.openapi+json")

    def test_app_versions_equal_the_status_versions(self):
        status = body_json(self, system.get(API + "status/", auth=None), 200)
        versions = {v["component"]: v["version"] for v in status["versions"]}
        self.assertEqual(self.doc["info"]["x-pulp-app-versions"], versions)
        self.assertIn("core", versions)
        self.assertIn("file", versions)

    def test_servers_point_at_this_host(self):
        self.assertEqual(self.doc["servers"], [{"url": f"http://127.0.0.1:{system.api_port}/"}])

    def test_operation_ids_on_the_right_paths(self):
        for op_id, (path, method) in OPERATIONS.items():
            with self.subTest(op_id=op_id):
                self.assertIn(op_id, self.by_id)
                self.assertEqual(self.by_id[op_id][:2], (path, method))

    def test_operation_ids_are_unique(self):
        ids = [op["operationId"] for _, _, op in operations(self.doc)]
        self.assertEqual(len(ids), len(set(ids)))

    def test_href_templated_operations_take_one_required_href_parameter(self):
        for op_id, (path, _) in OPERATIONS.items():
            if not path.startswith("{"):
                continue
            with self.subTest(op_id=op_id):
                name = path[1:path.index("}")]
                params = [p for p in self.by_id[op_id][2].get("parameters", [])
                          if p["in"] == "path"]
                self.assertEqual([p["name"] for p in params], [name])

    def test_every_path_parameter_is_required(self):
        for path, method, op in operations(self.doc):
            for p in op.get("parameters", []):
                if p["in"] == "path":
                    with self.subTest(path=path, method=method, name=p["name"]):
                        self.assertIs(p.get("required"), True)

    def test_every_operation_is_complete(self):
        for path, method, op in operations(self.doc):
            with self.subTest(path=path, method=method):
                self.assertTrue(op.get("operationId"))
                self.assertTrue(op.get("responses"))
                for code, response in op["responses"].items():
                    self.assertIn("description", response, code)

    def test_list_parameters_are_typed_for_pulp_glue(self):
        for op_id in LISTS:
            params = {p["name"]: p for p in self.by_id[op_id][2]["parameters"]
                      if p["in"] == "query"}
            with self.subTest(op_id=op_id):
                for name in ("fields", "exclude_fields", "ordering", "pulp_href__in",
                             "pulp_id__in", "prn__in"):
                    self.assertIn(name, params)
                for name, p in params.items():
                    if name in ("fields", "exclude_fields", "ordering") or name.endswith("__in"):
                        self.assertEqual(p["schema"]["type"], "array", name)
                self.assertEqual(params["limit"]["schema"]["type"], "integer")
                self.assertEqual(params["offset"]["schema"]["type"], "integer")
        tasks = {p["name"] for p in self.by_id["tasks_list"][2]["parameters"]}
        for name in ("state__in", "reserved_resources__in", "exclusive_resources__in",
                     "shared_resources__in", "logging_cid", "name", "name__contains",
                     "created_resources"):
            self.assertIn(name, tasks)
        content = {p["name"] for p in self.by_id["content_file_files_list"][2]["parameters"]}
        for name in ("sha256", "relative_path", "relative_path__contains", "pulp_label_select"):
            self.assertIn(name, content)
        uploads = {p["name"]: p for p in self.by_id["uploads_list"][2]["parameters"]}
        self.assertEqual(uploads["size__gt"]["schema"]["type"], "integer")

    def test_ordering_choices_are_declared_and_honoured(self):
        for op_id in LISTS:
            path = self.by_id[op_id][0]
            params = {p["name"]: p for p in self.by_id[op_id][2]["parameters"]}
            choices = params["ordering"]["schema"]["items"].get("enum", [])
            with self.subTest(op_id=op_id):
                for value in ("pk", "-pk", "pulp_created", "-pulp_created"):
                    self.assertIn(value, choices)
            for value in choices:
                with self.subTest(op_id=op_id, ordering=value):
                    r = system.get(f"{path}?ordering={value}&limit=1")
                    self.assertEqual(r.status, 200, r)

    def test_every_declared_list_parameter_is_understood(self):
        for op_id in LISTS:
            path = self.by_id[op_id][0]
            for p in self.by_id[op_id][2]["parameters"]:
                if p["in"] != "query":
                    continue
                schema = p["schema"]
                items = schema.get("items", {})
                if schema.get("type") == "array":
                    value = items.get("enum", ["x"])[0]
                    if items.get("format") == "uuid":
                        value = "00000000-0000-7000-8000-000000000000"
                elif "enum" in schema:
                    value = schema["enum"][0]
                elif schema.get("type") == "integer":
                    value = "1"
                elif schema.get("type") == "boolean":
                    value = "true"
                elif schema.get("format") == "date-time":
                    value = "2020-01-01T00:00:00Z"
                else:
                    value = "x"
                with self.subTest(op_id=op_id, param=p["name"]):
                    r = system.get(f"{path}?{urllib.parse.urlencode({p['name']: value})}")
                    self.assertLess(r.status, 500, r)
                    self.assertEqual(r.headers.get("content-type"), "application/json")
                    if r.status == 400:
                        self.assertNotIn("Invalid Filter", r.body.decode(), r)

    def test_read_operations_declare_field_selection(self):
        for op_id in ("artifacts_read", "uploads_read", "content_file_files_read", "tasks_read"):
            with self.subTest(op_id=op_id):
                params = {p["name"]: p for p in self.by_id[op_id][2].get("parameters", [])}
                self.assertEqual(params["fields"]["schema"]["type"], "array")
                self.assertEqual(params["exclude_fields"]["schema"]["type"], "array")

    def test_file_bodies_are_forms_with_a_binary_file(self):
        for op_id in FILE_BODIES:
            with self.subTest(op_id=op_id):
                content = self.by_id[op_id][2]["requestBody"]["content"]
                self.assertEqual(set(content), {"multipart/form-data",
                                                "application/x-www-form-urlencoded"})
                schema = resolve(self.doc, content["multipart/form-data"]["schema"])
                self.assertEqual(schema["properties"]["file"]["type"], "string")
                self.assertEqual(schema["properties"]["file"]["format"], "binary")

    def test_json_operations_accept_json(self):
        for op_id in ("uploads_create", "uploads_commit", "tasks_cancel"):
            with self.subTest(op_id=op_id):
                self.assertIn("application/json",
                              self.by_id[op_id][2]["requestBody"]["content"])

    def test_declared_response_codes(self):
        expect = {"artifacts_create": "201", "uploads_create": "201", "uploads_update": "200",
                  "uploads_commit": "202", "content_file_files_create": "202",
                  "content_file_files_upload": "201", "tasks_read": "200",
                  "artifacts_list": "200", "status_read": "200"}
        for op_id, code in expect.items():
            with self.subTest(op_id=op_id):
                responses = self.by_id[op_id][2]["responses"]
                self.assertIn(code, responses)
                if code != "204":
                    self.assertIn("application/json", responses[code].get("content", {}))
        self.assertIn("409", self.by_id["tasks_cancel"][2]["responses"])
        async_schema = resolve(self.doc, self.by_id["uploads_commit"][2]["responses"]["202"]
                               ["content"]["application/json"]["schema"])
        self.assertEqual(list(async_schema["properties"]), ["task"])

    def test_security(self):
        schemes = self.doc["components"]["securitySchemes"]
        self.assertEqual(schemes["basicAuth"], {"type": "http", "scheme": "basic"})
        for op_id in ("artifacts_list", "tasks_cancel", "uploads_create"):
            with self.subTest(op_id=op_id):
                security = self.by_id[op_id][2].get("security", self.doc.get("security"))
                self.assertIn({"basicAuth": []}, security)
                self.assertNotIn({}, security)
        status_security = self.by_id["status_read"][2].get("security", self.doc.get("security"))
        self.assertTrue(status_security is None or {} in status_security)

    def test_yaml_equals_json(self):
        r = system.get(API + "docs/api.yaml", auth=None)
        self.assertEqual(r.status, 200)
        self.assertEqual(yaml.safe_load(r.body), self.doc)

    def test_bindings_shortens_operation_ids(self):
        r = system.get(DOC + "?bindings", auth=None, headers={"Accept": "application/json"})
        doc = body_json(self, r, 200)
        ids = {(path, method): op["operationId"] for path, method, op in operations(doc)}
        expect = {
            ("/pulp/api/v3/artifacts/", "get"): "list",
            ("{artifact_href}", "get"): "read",
            ("/pulp/api/v3/uploads/", "post"): "create",
            ("{upload_href}", "put"): "update",
            ("{upload_href}commit/", "post"): "commit",
            ("{task_href}", "delete"): "delete",
            ("/pulp/api/v3/content/file/files/upload/", "post"): "upload",
            # Explicit ids are not "<path>_<action>" and keep their long form.
            ("{task_href}", "patch"): "tasks_cancel",
            ("/pulp/api/v3/status/", "get"): "status_read",
            ("/pulp/api/v3/livez/", "get"): "livez_read",
        }
        for key, op_id in expect.items():
            with self.subTest(key=key):
                self.assertEqual(ids.get(key), op_id)
        # The default document still has the long ids.
        self.assertIn("artifacts_list", self.by_id)

    def test_component_filter(self):
        r = system.get(DOC + "?component=file", auth=None, headers={"Accept": "application/json"})
        doc = body_json(self, r, 200)
        ids = {op["operationId"] for _, _, op in operations(doc)}
        self.assertIn("content_file_files_list", ids)

    def test_valid_openapi_once_href_keys_start_with_a_slash(self):
        node = shutil.which("node")
        parser = os.path.join(NODE_MODULES, "@apidevtools", "swagger-parser")
        if node is None:
            self.skipTest("node is not installed")
        if not os.path.isdir(parser):
            self.skipTest(f"@apidevtools/swagger-parser is not installed under {NODE_MODULES}")
        doc = json.loads(json.dumps(self.doc))
        doc["paths"] = {(k if k.startswith("/") else "/" + k): v for k, v in doc["paths"].items()}
        with tempfile.TemporaryDirectory() as tmp:
            spec = os.path.join(tmp, "api.json")
            with open(spec, "w") as f:
                json.dump(doc, f)
            script = ("const P = require('@apidevtools/swagger-parser');"
                      "P.validate(process.argv[1]).then(a => console.log('valid ' + a.openapi),"
                      " e => { console.error(e.message); process.exit(1); });")
            env = dict(os.environ, NODE_PATH=os.path.abspath(NODE_MODULES))
            out = subprocess.run([node, "-e", script, spec], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr[-3000:])
        self.assertIn("valid", out.stdout)


if __name__ == "__main__":
    unittest.main()
