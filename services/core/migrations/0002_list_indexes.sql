-- Lists are ordered newest first with the pk as tie-breaker; these indexes let a page be read
-- backwards from an index instead of sorting every row.
CREATE INDEX core_content_created_pk ON core_content (pulp_created, pulp_id);
CREATE INDEX core_artifact_created_pk ON core_artifact (pulp_created, pulp_id);
CREATE INDEX core_task_created_pk ON core_task (pulp_created, pulp_id);
DROP INDEX core_artifact_created;
DROP INDEX core_task_created;
