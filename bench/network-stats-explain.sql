-- EXPLAIN (ANALYZE, BUFFERS) of the six grouped statements networkStats runs for the whole
-- network over the last 366 days (the service's SQL with the period inlined), on a database
-- loaded with: lifeflow seed --scale 200 --history-days 365, then VACUUM ANALYZE.
-- psql -h 127.0.0.1 -U postgres -d DB -f bench/network-stats-explain.sql
\timing on
-- statement 1: requests
EXPLAIN (ANALYZE, BUFFERS) SELECT r.status AS status, r.urgency AS urgency, COUNT(*) AS n, SUM(CASE WHEN r.escalation_level > 0 THEN 1 ELSE 0 END) AS escalated FROM blood_requests r WHERE 1 = 1 AND r.created_at >= now() - interval '366 days' AND r.created_at < now() GROUP BY r.status, r.urgency;
-- statements 2 and 3: percentiles (accepted_at shown; fulfilled_at is the same with r.fulfilled_at)
EXPLAIN (ANALYZE, BUFFERS) WITH d AS (SELECT r.urgency AS urgency, CAST(EXTRACT(EPOCH FROM (r.accepted_at - r.created_at)) AS DOUBLE PRECISION) / 60.0 AS m FROM blood_requests r WHERE r.accepted_at IS NOT NULL AND r.created_at >= now() - interval '366 days' AND r.created_at < now()), o AS (SELECT urgency, m, ROW_NUMBER() OVER (PARTITION BY urgency ORDER BY m) AS rn, COUNT(*) OVER (PARTITION BY urgency) AS n FROM d) SELECT urgency, MAX(CASE WHEN rn = (50 * n + 99) / 100 THEN m END) AS p50, MAX(CASE WHEN rn = (90 * n + 99) / 100 THEN m END) AS p90 FROM o GROUP BY urgency;
-- statement 4: wastage
EXPLAIN (ANALYZE, BUFFERS) SELECT u.component AS component, e.blood_bank_id AS bank, SUM(CASE WHEN e.to_status = 'EXPIRED' THEN 1 ELSE 0 END) AS expired, SUM(CASE WHEN e.to_status = 'DISCARDED' THEN 1 ELSE 0 END) AS discarded FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id WHERE e.to_status IN ('EXPIRED', 'DISCARDED') AND e.created_at >= now() - interval '366 days' AND e.created_at < now() GROUP BY u.component, e.blood_bank_id ORDER BY e.blood_bank_id, u.component;
-- statement 5: collections
EXPLAIN (ANALYZE, BUFFERS) SELECT to_char(d.collected_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month, d.blood_bank_id AS bank, d.camp_id AS camp, COUNT(DISTINCT d.id) AS donations, COUNT(u.id) AS units FROM donations d LEFT JOIN blood_units u ON u.donation_id = d.id WHERE 1 = 1 AND d.collected_at >= now() - interval '366 days' AND d.collected_at < now() GROUP BY to_char(d.collected_at AT TIME ZONE 'UTC', 'YYYY-MM'), d.blood_bank_id, d.camp_id ORDER BY 1, 2, 3;
-- statement 6: camps
EXPLAIN (ANALYZE, BUFFERS) SELECT SUM(CASE WHEN cr.status <> 'CANCELLED' THEN 1 ELSE 0 END) AS registrations, SUM(CASE WHEN cr.status = 'ATTENDED' THEN 1 ELSE 0 END) AS attended FROM camp_registrations cr JOIN camps c ON c.id = cr.camp_id WHERE 1 = 1 AND c.starts_at >= now() - interval '366 days' AND c.starts_at < now();
-- statement 7: stock
EXPLAIN (ANALYZE, BUFFERS) SELECT g, c, CAST(SUM(available) AS BIGINT) AS available, CAST(SUM(issued) AS BIGINT) AS issued FROM (SELECT u.blood_group AS g, u.component AS c, COUNT(*) AS available, 0 AS issued FROM blood_units u WHERE u.status = 'AVAILABLE' AND u.expires_at > now() GROUP BY u.blood_group, u.component UNION ALL SELECT u.blood_group AS g, u.component AS c, 0 AS available, COUNT(*) AS issued FROM blood_unit_events e JOIN blood_units u ON u.id = e.unit_id WHERE e.to_status = 'ISSUED' AND e.created_at > now() - interval '30 days' GROUP BY u.blood_group, u.component) t GROUP BY g, c ORDER BY c, g;
