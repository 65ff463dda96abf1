-- Publications: what a repository version looks like when served; files are the version's
-- content at their relative paths (pass-through) plus published metadata such as PULP_MANIFEST.
CREATE TABLE core_publication (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  pulp_type text NOT NULL,
  repository_version_id uuid NOT NULL REFERENCES core_repositoryversion ON DELETE CASCADE,
  complete boolean NOT NULL DEFAULT false,
  pass_through boolean NOT NULL DEFAULT true,
  manifest text,
  checkpoint boolean NOT NULL DEFAULT false
);
CREATE INDEX core_publication_created_pk ON core_publication (pulp_created, pulp_id);
CREATE INDEX core_publication_version ON core_publication (repository_version_id);

-- Metadata files a publication serves at a path of its own (PULP_MANIFEST), stored as artifacts.
CREATE TABLE core_publishedmetadata (
  pulp_id uuid PRIMARY KEY,
  publication_id uuid NOT NULL REFERENCES core_publication ON DELETE CASCADE,
  relative_path text NOT NULL,
  artifact_id uuid NOT NULL REFERENCES core_artifact ON DELETE RESTRICT,
  UNIQUE (publication_id, relative_path)
);

CREATE TABLE core_distribution (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_last_updated timestamptz NOT NULL DEFAULT clock_timestamp(),
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  pulp_type text NOT NULL,
  name text NOT NULL,
  base_path text NOT NULL,
  pulp_labels jsonb NOT NULL DEFAULT '{}',
  hidden boolean NOT NULL DEFAULT false,
  content_guard_id uuid,
  repository_id uuid REFERENCES core_repository ON DELETE SET NULL,
  repository_version_id uuid REFERENCES core_repositoryversion ON DELETE SET NULL,
  publication_id uuid REFERENCES core_publication ON DELETE SET NULL,
  checkpoint boolean NOT NULL DEFAULT false,
  UNIQUE (name, pulp_domain_id),
  UNIQUE (base_path, pulp_domain_id)
);
CREATE INDEX core_distribution_created_pk ON core_distribution (pulp_created, pulp_id);

-- Artifacts a publication serves as metadata are not orphans.
CREATE OR REPLACE VIEW pulp_artifact_in_use AS
  SELECT artifact_id FROM core_contentartifact WHERE artifact_id IS NOT NULL
  UNION SELECT artifact_id FROM core_publishedmetadata;
