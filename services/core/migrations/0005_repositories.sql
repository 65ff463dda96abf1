-- Repositories and their immutable versions. Membership is upstream's versioned model: a row
-- per (repository, content) span, with the version numbers that added and removed it, so a
-- version's content is a range query, never a copy.
CREATE TABLE core_repository (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  pulp_type text NOT NULL,
  name text NOT NULL,
  description text,
  next_version integer NOT NULL DEFAULT 1,
  retain_repo_versions integer CHECK (retain_repo_versions >= 1),
  retain_checkpoints integer CHECK (retain_checkpoints >= 1),
  user_hidden boolean NOT NULL DEFAULT false,
  pulp_labels jsonb NOT NULL DEFAULT '{}',
  remote_id uuid,
  UNIQUE (name, pulp_domain_id)
);
CREATE INDEX core_repository_created_pk ON core_repository (pulp_created, pulp_id);

CREATE TABLE core_repositoryversion (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  repository_id uuid NOT NULL REFERENCES core_repository ON DELETE CASCADE,
  number integer NOT NULL,
  complete boolean NOT NULL DEFAULT false,
  base_version_id uuid REFERENCES core_repositoryversion ON DELETE SET NULL,
  UNIQUE (repository_id, number)
);

CREATE TABLE core_repositorycontent (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  repository_id uuid NOT NULL REFERENCES core_repository ON DELETE CASCADE,
  content_id uuid NOT NULL REFERENCES core_content ON DELETE CASCADE,
  version_added integer NOT NULL,
  version_removed integer,
  CHECK (version_removed IS NULL OR version_removed > version_added)
);
-- At most one open span per (repository, content).
CREATE UNIQUE INDEX core_repositorycontent_open
  ON core_repositorycontent (repository_id, content_id) WHERE version_removed IS NULL;
CREATE INDEX core_repositorycontent_content ON core_repositorycontent (content_id);
CREATE INDEX core_repositorycontent_added ON core_repositorycontent (repository_id, version_added);
CREATE INDEX core_repositorycontent_removed ON core_repositorycontent (repository_id, version_removed);

CREATE OR REPLACE VIEW pulp_content_in_use AS
  SELECT DISTINCT content_id FROM core_repositorycontent;
