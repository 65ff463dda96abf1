-- A repository's default remote; deleting the remote leaves the repository without one.
ALTER TABLE core_repository
  ADD CONSTRAINT core_repository_remote_fk FOREIGN KEY (remote_id) REFERENCES core_remote
  ON DELETE SET NULL;
CREATE INDEX core_repository_remote ON core_repository (remote_id);
