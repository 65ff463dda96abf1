-- Content that a repository holds may not be orphan-cleaned. Repository versions arrive with the
-- file-repository work; until then nothing is held. Later migrations replace this view.
CREATE VIEW pulp_content_in_use AS
  SELECT NULL::uuid AS content_id WHERE FALSE;
