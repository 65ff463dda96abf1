-- Core schema: users, artifacts, uploads, content, tasks, app heartbeats.
-- Names follow upstream's tables so operators recognise them.

-- Timestamps render as Python's isoformat() in UTC: microseconds omitted only when zero.
CREATE FUNCTION pulp_iso(ts timestamptz) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN ts IS NULL THEN NULL
    WHEN extract(microseconds FROM ts)::bigint % 1000000 = 0
      THEN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    ELSE to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  END
$$;

CREATE TABLE core_domain (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  name text NOT NULL UNIQUE,
  description text,
  storage_class text NOT NULL DEFAULT 'pulpcore.app.models.storage.FileSystem'
);
INSERT INTO core_domain (pulp_id, name) VALUES ('018f0000-0000-7000-8000-000000000001', 'default');

CREATE TABLE core_user (
  id bigserial PRIMARY KEY,
  username varchar(150) NOT NULL UNIQUE,
  password varchar(128) NOT NULL,
  is_superuser boolean NOT NULL DEFAULT false,
  is_staff boolean NOT NULL DEFAULT false,
  is_active boolean NOT NULL DEFAULT true,
  first_name varchar(150) NOT NULL DEFAULT '',
  last_name varchar(150) NOT NULL DEFAULT '',
  email varchar(254) NOT NULL DEFAULT '',
  date_joined timestamptz NOT NULL DEFAULT clock_timestamp(),
  last_login timestamptz
);

CREATE TABLE core_artifact (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  file text NOT NULL,
  size bigint NOT NULL,
  md5 text,
  sha1 text,
  sha224 text,
  sha256 text NOT NULL,
  sha384 text,
  sha512 text,
  timestamp_of_interest timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (sha256, pulp_domain_id),
  UNIQUE (sha384, pulp_domain_id),
  UNIQUE (sha512, pulp_domain_id)
);
CREATE INDEX core_artifact_created ON core_artifact (pulp_created);

CREATE TABLE core_upload (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  size bigint NOT NULL CHECK (size >= 0)
);

CREATE TABLE core_uploadchunk (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  upload_id uuid NOT NULL REFERENCES core_upload ON DELETE CASCADE,
  "offset" bigint NOT NULL,
  size bigint NOT NULL,
  file text NOT NULL,
  UNIQUE (upload_id, "offset")
);

CREATE TABLE core_content (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  pulp_type text NOT NULL,
  upstream_id text,
  pulp_labels jsonb NOT NULL DEFAULT '{}',
  timestamp_of_interest timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX core_content_type_created ON core_content (pulp_type, pulp_created);

CREATE TABLE core_contentartifact (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  content_id uuid NOT NULL REFERENCES core_content ON DELETE CASCADE,
  artifact_id uuid REFERENCES core_artifact ON DELETE RESTRICT,
  relative_path text NOT NULL,
  UNIQUE (content_id, relative_path)
);
CREATE INDEX core_contentartifact_artifact ON core_contentartifact (artifact_id);

CREATE TABLE core_taskgroup (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  description text NOT NULL DEFAULT '',
  all_tasks_dispatched boolean NOT NULL DEFAULT false
);

CREATE TABLE core_task (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  state text NOT NULL CHECK (state IN
    ('waiting', 'skipped', 'running', 'completed', 'failed', 'canceled', 'canceling')),
  name text NOT NULL,
  logging_cid text NOT NULL DEFAULT '',
  created_by_id bigint REFERENCES core_user ON DELETE SET NULL,
  unblocked_at timestamptz,
  started_at timestamptz,
  finished_at timestamptz,
  error jsonb,
  worker_id uuid,
  parent_task_id uuid REFERENCES core_task ON DELETE SET NULL,
  task_group_id uuid REFERENCES core_taskgroup ON DELETE SET NULL,
  args jsonb NOT NULL DEFAULT '[]',
  kwargs jsonb NOT NULL DEFAULT '{}',
  reserved_resources_record text[] NOT NULL DEFAULT '{}',
  progress_reports jsonb NOT NULL DEFAULT '[]',
  created_resources text[] NOT NULL DEFAULT '{}',
  created_resource_prns text[] NOT NULL DEFAULT '{}',
  result jsonb,
  immediate boolean NOT NULL DEFAULT false,
  deferred boolean NOT NULL DEFAULT true
);
CREATE INDEX core_task_created ON core_task (pulp_created);
CREATE INDEX core_task_incomplete ON core_task (pulp_created)
  WHERE state IN ('waiting', 'running', 'canceling');
CREATE INDEX core_task_resources ON core_task USING gin (reserved_resources_record);
CREATE INDEX core_task_cid ON core_task (logging_cid);

CREATE TABLE core_appstatus (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  app_type text NOT NULL CHECK (app_type IN ('api', 'content', 'worker', 'resource_manager')),
  name text NOT NULL,
  last_heartbeat timestamptz NOT NULL DEFAULT clock_timestamp(),
  versions jsonb NOT NULL DEFAULT '{}',
  grpc_address text,
  UNIQUE (app_type, name)
);
