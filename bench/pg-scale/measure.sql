\timing on
SELECT count(*) AS findings FROM findings;
SELECT count(*) AS attrs FROM finding_attrs;
SELECT count(*) AS history FROM finding_history;
SELECT count(*) AS events FROM outbox_events;
-- sizes: table, TOAST, each index
SELECT c.relname, c.relkind, pg_relation_size(c.oid) AS bytes,
       round(pg_relation_size(c.oid)::numeric / (SELECT count(*) FROM findings), 1) AS per_finding
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r','i')
ORDER BY pg_relation_size(c.oid) DESC;
SELECT c.relname AS table, pg_relation_size(c.reltoastrelid) AS toast_bytes,
       round(pg_relation_size(c.reltoastrelid)::numeric / (SELECT count(*) FROM findings), 1) AS per_finding
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltoastrelid <> 0 ORDER BY 2 DESC LIMIT 5;
SELECT account_id, count(*) FROM findings GROUP BY 1 ORDER BY 1;
ANALYZE;
-- 1. default view, admin: ORDER BY updated_at DESC LIMIT
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE f.region = 'us-east-1'
  ORDER BY f.updated_at DESC, f.key_hash DESC, f.seq DESC LIMIT 101;
-- 2. default view, member scope
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE f.region = 'us-east-1'
  AND f.account_id = ANY('{111111111111}'::text[]) ORDER BY f.updated_at DESC, f.key_hash DESC, f.seq DESC LIMIT 101;
-- 3. severity + workflow
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE f.severity_label = 'CRITICAL'
  AND f.workflow_status = 'NEW' AND f.region = 'us-east-1' ORDER BY f.updated_at DESC, f.key_hash DESC, f.seq DESC LIMIT 101;
-- 4. one ResourceId through the attribute table
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE
  f.seq IN (SELECT a.seq FROM finding_attrs a WHERE a.field = 1 AND a.value = (SELECT value FROM finding_attrs WHERE field = 1 LIMIT 1))
  AND f.region = 'us-east-1' ORDER BY f.updated_at DESC, f.key_hash DESC, f.seq DESC LIMIT 101;
-- 5. Title CONTAINS a word no title has
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE
  strpos(f.title, 'nonexistent') > 0 AND f.region = 'us-east-1' ORDER BY f.updated_at DESC, f.key_hash DESC, f.seq DESC LIMIT 256;
-- 6. sort by Title
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT f.seq, f.key_hash, f.doc FROM findings f WHERE f.region = 'us-east-1'
  ORDER BY f.title ASC, f.key_hash ASC, f.seq ASC LIMIT 101;
-- 7. an import's lock of 100 identifiers
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT seq FROM findings WHERE (product_arn, finding_id) IN
  (SELECT product_arn, finding_id FROM findings TABLESAMPLE SYSTEM (0.1) LIMIT 100);
-- 8. one finding's history
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id, update_time FROM finding_history WHERE seq = ANY(ARRAY[(SELECT max(seq) / 2 FROM findings)])
  ORDER BY update_time DESC, id DESC LIMIT 101;
-- 9. retention's scan
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT seq FROM findings WHERE (updated_at < 0 AND updated_at <> (-9223372036854775808)::bigint)
  OR (updated_at < 0 AND record_state = 'ARCHIVED') ORDER BY updated_at LIMIT 500;
-- 10. overview counts by severity
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT severity_label, count(*) FROM findings f WHERE f.region = 'us-east-1'
  AND record_state = 'ACTIVE' GROUP BY 1;
