-- What the last manifest sync saw, so an unchanged remote is not synced again.
ALTER TABLE file_filerepository ADD COLUMN last_sync_details jsonb NOT NULL DEFAULT '{}';
