-- bench/real/inserts.sql: an SQLite workload for bench/run.sh (sqlite3 -init FILE :memory: .quit).
-- It inserts 600,000 rows with text of varying length, builds an index and runs two aggregate
-- queries. It prints the same `result|...` lines on every run.
CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, v REAL, pad TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600000)
INSERT INTO t SELECT x, 'name' || (x * 7919 % 100003), (x * 31 % 1000) / 7.0, substr(hex(x * 2654435761), 1, 10 + x % 200) FROM c;
CREATE INDEX t_name ON t(name);
SELECT 'result', count(*), sum(length(pad)), round(avg(v), 3) FROM t;
SELECT 'result', name, count(*) FROM t GROUP BY name ORDER BY count(*) DESC, name LIMIT 3;
