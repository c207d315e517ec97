-- A results DB as migmatrix schema version 1 wrote it (the first released schema),
-- with one finished run. test-store opens it and expects an upgrade with nothing lost.
CREATE TABLE runs (id INTEGER PRIMARY KEY, name TEXT, scenario_path TEXT NOT NULL, scenario_hash TEXT,
  started_at TEXT NOT NULL, ended_at TEXT, status TEXT NOT NULL, harness_version TEXT NOT NULL);
CREATE TABLE hosts (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL, UNIQUE (run_id, name));
CREATE TABLE host_facts (host_id INTEGER NOT NULL REFERENCES hosts(id) ON DELETE CASCADE, name TEXT NOT NULL,
  value TEXT, PRIMARY KEY (host_id, name));
CREATE TABLE cases (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  case_id TEXT NOT NULL, src TEXT NOT NULL, dst TEXT NOT NULL, guest TEXT NOT NULL, mode TEXT NOT NULL,
  repeat INTEGER NOT NULL DEFAULT 1, state TEXT NOT NULL, expected TEXT, outcome TEXT, reason TEXT,
  error_text TEXT, started_at TEXT, ended_at TEXT, duration_ms INTEGER, UNIQUE (run_id, case_id));
CREATE TABLE steps (id INTEGER PRIMARY KEY, case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  phase TEXT NOT NULL, started_at TEXT NOT NULL, duration_ms INTEGER NOT NULL, ok INTEGER NOT NULL, message TEXT);
CREATE TABLE artifacts (id INTEGER PRIMARY KEY, case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind TEXT NOT NULL, name TEXT, content TEXT);
INSERT INTO runs VALUES (1, 'old run', 'scenarios/hygon.ini', 'abc', '2026-01-01T00:00:00.000Z',
  '2026-01-01T01:00:00.000Z', 'done', '0.0.9');
INSERT INTO cases VALUES (1, 1, 'hygon-a>hygon-b/win2019/host-model', 'hygon-a', 'hygon-b', 'win2019',
  'host-model', 1, 'done', 'start-failed', 'start-failed', 'mode unsupported', 'error: x', NULL, NULL, 1234);
INSERT INTO steps VALUES (1, 1, 'start', '2026-01-01T00:00:01.000Z', 50, 0, 'error: x');
PRAGMA user_version = 1;
