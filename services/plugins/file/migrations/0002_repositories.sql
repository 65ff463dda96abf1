-- pulp_file's repository type: core_repository plus publishing options.
CREATE TABLE file_filerepository (
  repository_ptr_id uuid PRIMARY KEY REFERENCES core_repository ON DELETE CASCADE,
  autopublish boolean NOT NULL DEFAULT false,
  manifest text DEFAULT 'PULP_MANIFEST'
);
