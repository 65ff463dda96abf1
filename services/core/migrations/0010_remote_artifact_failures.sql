-- When fetching a remote artifact last failed: the content app skips it for a while.
ALTER TABLE core_remoteartifact ADD COLUMN failed_at timestamptz;
