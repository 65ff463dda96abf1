-- Where the bytes of content without a local artifact can be fetched (on_demand, streamed).
CREATE TABLE core_remoteartifact (
  pulp_id uuid PRIMARY KEY,
  pulp_created timestamptz NOT NULL DEFAULT clock_timestamp(),
  content_artifact_id uuid NOT NULL REFERENCES core_contentartifact ON DELETE CASCADE,
  remote_id uuid NOT NULL REFERENCES core_remote ON DELETE CASCADE,
  url text NOT NULL,
  size bigint,
  sha256 text,
  UNIQUE (content_artifact_id, remote_id)
);
