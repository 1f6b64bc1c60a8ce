#!/usr/bin/env python3
"""The all-agent audit timeline of one day, with agent-audit and with DuckDB over the same
JSON files: checks that both give the same rows and prints both times and their ratio.

    python3 benches/compare.py --events DIR --date 2026-11-02 --timezone America/New_York

Run by benches/compare.sh, which builds the release binary and generates the data set.
DuckDB reads the files with an explicit schema of only the fields the report needs (the
fastest fair setup) and derives the labels with the same rule table (SPEC §4) and the same
reducer rules (SPEC §3): ordering, the state before the first event, segments, clipping
to the local day, and the continued / truncated / open / gap flags. The synthetic data has
no duplicate EventIds and no ties in EventTimestamp, so input order never matters.
"""

import argparse
import datetime as dt
import glob
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

SNAP = (
    'STRUCT("AgentStatus" STRUCT("Name" VARCHAR, "Type" VARCHAR), '
    '"Contacts" STRUCT("Channel" VARCHAR, "InitiationMethod" VARCHAR, "State" VARCHAR, '
    '"ConnectedToAgentTimestamp" VARCHAR)[], '
    '"Configuration" STRUCT("Username" VARCHAR))'
)

RULES = """
    CASE
      WHEN state = 'ERROR' THEN {t1}
      WHEN state = 'ENDED' AND NOT connected AND outbound THEN {t1}
      WHEN state = 'MISSED' AND channel = 'VOICE' THEN {ad}
      WHEN state = 'MISSED' THEN {cm}
      WHEN state = 'REJECTED' AND channel = 'VOICE' THEN {ad}
      WHEN state = 'REJECTED' AND channel = 'CHAT' THEN {cm}
      WHEN state = 'REJECTED' THEN {rj}
      WHEN state = 'ENDED' AND NOT connected AND method = 'CALLBACK' THEN {mca}
      WHEN state IN ('CONNECTING', 'INCOMING', 'PENDING') AND outbound THEN {cc}
      WHEN state = 'CONNECTING' AND method = 'CALLBACK' THEN {cc}
      WHEN state IN ('CONNECTED', 'CONNECTED_ONHOLD') AND NOT outbound AND channel = 'VOICE' THEN {co}
      WHEN state IN ('CONNECTED', 'CONNECTED_ONHOLD') THEN {busy}
      WHEN state = 'PAUSED' THEN {pa}
      WHEN state = 'ENDED' THEN {acw}
      WHEN state IN ('INCOMING', 'PENDING', 'CONNECTING') AND channel = 'CHAT' THEN {jc}
      WHEN state IN ('INCOMING', 'PENDING', 'CONNECTING') THEN {ca}
    END
""".format(
    t1="{'label': 'Telecom issue', 'tier': 1}",
    ad="{'label': 'Agent Disconnected', 'tier': 2}",
    cm="{'label': 'Contact Missed', 'tier': 2}",
    rj="{'label': 'Rejected', 'tier': 2}",
    mca="{'label': 'Missed Call Agent', 'tier': 2}",
    cc="{'label': 'Calling Customer', 'tier': 3}",
    co="{'label': 'Connected', 'tier': 3}",
    busy="{'label': 'Busy', 'tier': 3}",
    pa="{'label': 'Paused', 'tier': 3}",
    acw="{'label': 'After contact work', 'tier': 4}",
    jc="{'label': 'Joining Customer', 'tier': 5}",
    ca="{'label': 'Connecting Agent', 'tier': 5}",
)


def snapshot_label(col):
    """SQL for (label, offline) of one snapshot column, or NULL."""
    return f"""
    CASE WHEN {col} IS NULL THEN NULL ELSE coalesce(
      (SELECT {{'label': r.label, 'offline': false}}
         FROM (SELECT {RULES} AS r, i
                 FROM (SELECT unnest({col}.Contacts) AS c,
                              generate_subscripts({col}.Contacts, 1) AS i)
                 CROSS JOIN LATERAL (SELECT
                     c.State AS state,
                     CASE WHEN c.Channel = 'TASKS' THEN 'TASK' ELSE c.Channel END AS channel,
                     c.InitiationMethod AS method,
                     c.InitiationMethod IN ('OUTBOUND', 'EXTERNAL_OUTBOUND', 'CAMPAIGN_PREVIEW', 'AGENT_REPLY') AS outbound,
                     c.ConnectedToAgentTimestamp IS NOT NULL AS connected))
        WHERE r IS NOT NULL
        ORDER BY r.tier, i LIMIT 1),
      CASE WHEN {col}.AgentStatus.Name IS NULL OR {col}.AgentStatus.Name = '' THEN NULL
           ELSE {{'label': {col}.AgentStatus.Name,
                  'offline': coalesce({col}.AgentStatus.Type = 'OFFLINE',
                                      {col}.AgentStatus.Name = 'Offline')}} END)
    END"""


def duckdb_rows(files, window_start, window_end, stale_ms=300_000):
    import duckdb

    con = duckdb.connect()
    columns = (
        "{AgentARN: 'VARCHAR', EventId: 'VARCHAR', EventTimestamp: 'VARCHAR', EventType: 'VARCHAR', "
        f"CurrentAgentSnapshot: '{SNAP}', PreviousAgentSnapshot: '{SNAP}'}}"
    )
    sql = f"""
    WITH raw AS (
      SELECT *, row_number() OVER () AS seq
        FROM read_json({files!r}, format = 'newline_delimited', columns = {columns})
    ),
    ev AS (
      SELECT AgentARN AS arn, seq, EventType AS kind,
             epoch_ms(CAST(EventTimestamp AS TIMESTAMPTZ)) AS ts,
             {snapshot_label('CurrentAgentSnapshot')} AS cur,
             {snapshot_label('PreviousAgentSnapshot')} AS prev,
             coalesce(CurrentAgentSnapshot.Configuration.Username,
                      PreviousAgentSnapshot.Configuration.Username) AS username
        FROM raw
    ),
    logins AS (
      SELECT arn, arg_max(username, (ts, seq)) AS login FROM ev WHERE username IS NOT NULL GROUP BY arn
    ),
    firsts AS (
      SELECT arn, arg_min(CASE WHEN prev IS NOT NULL THEN prev
                              WHEN kind = 'LOGIN' THEN {{'label': 'Offline', 'offline': true}} END,
                          (ts, seq)) AS initial
        FROM ev GROUP BY arn
    ),
    carried AS (
      SELECT e.arn, e.ts, e.seq,
             coalesce(last_value(e.cur IGNORE NULLS) OVER w, f.initial) AS state,
             lead(e.ts) OVER w AS next_ts
        FROM ev e JOIN firsts f USING (arn)
      WINDOW w AS (PARTITION BY e.arn ORDER BY e.ts, e.seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ),
    silences AS (
      SELECT arn, ts AS a, next_ts AS b FROM (
        SELECT arn, ts, state, lead(ts) OVER (PARTITION BY arn ORDER BY ts, seq) AS next_ts FROM carried)
       WHERE next_ts - ts > {stale_ms} AND state IS NOT NULL AND NOT state.offline
    ),
    at_ts AS (
      -- The state after the last event of each instant.
      SELECT arn, ts, arg_max(state, seq) AS state FROM carried GROUP BY arn, ts
    ),
    changes AS (
      SELECT arn, ts, state, lag(state.label) OVER (PARTITION BY arn ORDER BY ts) AS before, f.initial,
             row_number() OVER (PARTITION BY arn ORDER BY ts) AS n
        FROM at_ts JOIN firsts f USING (arn)
    ),
    starts AS (
      SELECT arn, NULL::BIGINT AS start, initial AS state FROM firsts WHERE initial IS NOT NULL
      UNION ALL
      SELECT arn, ts AS start, state FROM changes
       WHERE state IS NOT NULL
         AND (CASE WHEN n = 1 THEN initial IS NULL OR state.label <> initial.label
                   ELSE before IS NULL OR state.label <> before END)
    ),
    segments AS (
      SELECT arn, start, state,
             lead(start) OVER (PARTITION BY arn ORDER BY start NULLS FIRST) AS stop,
             row_number() OVER (PARTITION BY arn ORDER BY start DESC NULLS LAST) = 1 AS last
        FROM starts
    ),
    rows AS (
      SELECT arn, state, start, stop, last,
             greatest(coalesce(start, {window_start}), {window_start}) AS row_start,
             least(coalesce(stop, {window_end}), {window_end}) AS row_end
        FROM segments
    )
    SELECT l.login, r.state.label,
           r.row_start, r.row_end,
           concat_ws(';',
             CASE WHEN r.start IS NULL OR r.start < {window_start} THEN 'continued' END,
             CASE WHEN r.stop IS NULL OR r.stop > {window_end} THEN 'truncated' END,
             CASE WHEN r.last AND NOT r.state.offline THEN 'open' END,
             CASE WHEN EXISTS (SELECT 1 FROM silences s
                                WHERE s.arn = r.arn AND s.a < r.row_end AND s.b > r.row_start) THEN 'gap' END)
      FROM rows r JOIN logins l USING (arn)
     WHERE r.row_start < r.row_end
    """
    started = time.perf_counter()
    result = con.execute(sql).fetchall()
    elapsed = time.perf_counter() - started
    return sorted((a, b, c, d, e) for a, b, c, d, e in result), elapsed


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def agent_audit_rows(binary, events, date, zone, threads=None):
    """Rows, elapsed seconds and CPU seconds (user + system) of one `run`."""
    out = tempfile.mkdtemp(prefix="agent-audit-compare-")
    batch = os.path.join(out, "batch.toml")
    with open(batch, "w") as f:
        f.write(
            f'events = [{json.dumps(events)}]\ntimezone = "{zone}"\nformat = "json"\n'
            f'out_dir = {json.dumps(os.path.join(out, "reports"))}\n'
            f'[[report]]\nagents = ["*"]\ndates = ["{date}"]\n'
        )
    env = dict(os.environ)
    if threads:
        env["RAYON_NUM_THREADS"] = str(threads)
    cpu = children_cpu()
    started = time.perf_counter()
    subprocess.run([binary, "run", "--quiet", batch], check=True, stdout=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - started
    cpu = children_cpu() - cpu
    rows = []
    for path in glob.glob(os.path.join(out, "reports", "*", "*.json")):
        doc = json.load(open(path))
        for r in doc["rows"]:
            ms = lambda s: int(dt.datetime.fromisoformat(s).timestamp() * 1000)
            rows.append((doc["agent"], r["status"], ms(r["start"]), ms(r["end"]), ";".join(r["flags"])))
    return sorted(rows), elapsed, cpu


def gzip_copy(files, parts=8):
    """The events cut into `parts` gzip files of whole lines, as Firehose delivers them."""
    out = tempfile.mkdtemp(prefix="agent-audit-gz-")
    lines = [line for f in files for line in open(f, "rb")]
    per = -(-len(lines) // parts)
    for i in range(parts):
        with gzip.open(os.path.join(out, f"{i:05}.json.gz"), "wb", compresslevel=1) as dst:
            dst.writelines(lines[i * per:(i + 1) * per])
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", required=True, help="a directory of JSON-lines files")
    p.add_argument("--date", required=True)
    p.add_argument("--timezone", required=True)
    p.add_argument("--binary", default="target/dist/agent-audit")
    p.add_argument("--gzip", action="store_true", help="also time the same events gzipped")
    a = p.parse_args()

    zone = ZoneInfo(a.timezone)
    day = dt.date.fromisoformat(a.date)
    start = int(dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp() * 1000)
    nxt = day + dt.timedelta(days=1)
    end = int(dt.datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone).timestamp() * 1000)
    files = sorted(glob.glob(os.path.join(a.events, "**", "*.json*"), recursive=True))
    size = sum(os.path.getsize(f) for f in files)

    # Best of three, the two tools taking turns, so that a busy moment hits both alike.
    runs = []
    for _ in range(3):
        runs.append((agent_audit_rows(a.binary, a.events, a.date, a.timezone), duckdb_rows(files, start, end)))
    ours, ours_s, ours_cpu = min((r[0] for r in runs), key=lambda r: r[1])
    theirs, theirs_s = min((r[1] for r in runs), key=lambda r: r[1])
    _, one_s, _ = min((agent_audit_rows(a.binary, a.events, a.date, a.timezone, threads=1) for _ in range(2)), key=lambda r: r[1])
    cores = os.cpu_count() or 1

    print(f"input: {len(files)} file(s), {size / 1e6:.0f} MB")
    print(f"agent-audit: {len(ours)} rows in {ours_s:.2f} s ({size / 1e6 / ours_s:.0f} MB/s on {cores} cores, "
          f"{size / 1e6 / ours_cpu:.0f} MB per CPU-second)")
    print(f"agent-audit, one thread: {one_s:.2f} s ({size / 1e6 / one_s:.0f} MB/s per core)")
    print(f"DuckDB:      {len(theirs)} rows in {theirs_s:.2f} s ({size / 1e6 / theirs_s:.0f} MB/s)")
    if a.gzip:
        gz = gzip_copy(files)
        _, gz_s, _ = min((agent_audit_rows(a.binary, gz, a.date, a.timezone) for _ in range(2)), key=lambda r: r[1])
        print(f"agent-audit over gzip: {gz_s:.2f} s ({size / 1e6 / gz_s:.0f} MB/s of JSON)")
    if ours != theirs:
        diff = sorted(set(ours) ^ set(theirs))[:10]
        print("ROWS DIFFER; first differences (agent-audit has one side, DuckDB the other):")
        for d in diff:
            print("  ", "agent-audit" if d in set(ours) else "DuckDB     ", d)
        sys.exit(1)
    print(f"rows identical; agent-audit is {theirs_s / ours_s:.1f}x faster than DuckDB")
    print(f"targets (SPEC §10): >= 5x DuckDB: {'met' if theirs_s / ours_s >= 5 else 'NOT met'}; "
          f">= 2 GB/s per core: {'met' if size / one_s >= 2e9 else 'NOT met'}")


if __name__ == "__main__":
    main()
