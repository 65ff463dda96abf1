-- Classic tasking: the one active pulp-resource-manager. `term` grows at every change of
-- leader and fences a stale one; `lease_until` lets a standby take over from a leader that
-- stalled (a leader that died loses its session lock at once).
CREATE TABLE core_resourcemanager (
  id integer PRIMARY KEY CHECK (id = 1),
  term bigint NOT NULL DEFAULT 0,
  name text,
  grpc_address text,
  backend_pid integer,
  lease_until timestamptz
);
INSERT INTO core_resourcemanager (id) VALUES (1);

-- The term under which a manager marked a task running for a worker.
ALTER TABLE core_task ADD COLUMN assigned_term bigint;
