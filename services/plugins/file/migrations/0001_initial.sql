-- pulp_file's content type: a file at a relative path, identified by (relative_path, digest).
CREATE TABLE file_filecontent (
  content_ptr_id uuid PRIMARY KEY REFERENCES core_content ON DELETE CASCADE,
  relative_path text NOT NULL,
  digest text NOT NULL,
  pulp_domain_id uuid NOT NULL REFERENCES core_domain,
  UNIQUE (relative_path, digest, pulp_domain_id)
);
CREATE INDEX file_filecontent_digest ON file_filecontent (digest);
