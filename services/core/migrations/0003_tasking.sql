-- Distributed tasking: resources split by kind so conflicts are array overlaps on GIN indexes,
-- and worker rows that say whether the worker is idle (so dispatch wakes one, not all).
ALTER TABLE core_task
  ADD COLUMN exclusive_resources text[] NOT NULL DEFAULT '{}',
  ADD COLUMN shared_resources text[] NOT NULL DEFAULT '{}';
CREATE INDEX core_task_exclusive ON core_task USING gin (exclusive_resources)
  WHERE state IN ('waiting', 'running', 'canceling');
CREATE INDEX core_task_shared ON core_task USING gin (shared_resources)
  WHERE state IN ('waiting', 'running', 'canceling');
CREATE INDEX core_task_waiting ON core_task (pulp_created, pulp_id) WHERE state = 'waiting';
CREATE INDEX core_task_worker ON core_task (worker_id) WHERE state IN ('running', 'canceling');

ALTER TABLE core_appstatus
  ADD COLUMN idle boolean NOT NULL DEFAULT false,
  ADD COLUMN current_task_id uuid;
