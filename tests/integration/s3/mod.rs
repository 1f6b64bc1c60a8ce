//! SPEC §2, §5, §8 and §9 on S3: `s3://` events and output directories against a real S3
//! server on 127.0.0.1 (moto, see `server`), compared byte for byte with the same files on
//! disk; shards writing to S3 at the same time and merged; `watch` polling a prefix; and
//! the shipped deployment files checked offline.

mod deploy;
mod server;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use predicates::str::contains;
use tempfile::TempDir;

use crate::support::*;
use server::{Bucket, Server};

/// The shared server and a new bucket on it; `None` where moto is missing outside CI.
fn on_s3(bucket: &str) -> Option<(&'static Server, Bucket)> {
    let server = server::shared()?;
    Some((server, server.bucket(bucket)))
}

/// `agent-audit` talking to `server`.
fn bin_on(server: &Server) -> assert_cmd::Command {
    let mut cmd = bin();
    cmd.envs(server.env());
    cmd
}

/// Every file under `dir` by its relative path, with its bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

fn write_batch(path: &Path, events: &str, out_dir: &str, rest: &str) {
    fs::write(
        path,
        format!("events = [\"{events}\"]\nout_dir = \"{out_dir}\"\n{rest}"),
    )
    .unwrap();
}

/// The example batch's reports, for any events and output locations.
const EXAMPLE_REPORTS: &str = "timezone = \"America/New_York\"\n\
    [[report]]\nagents = [\"*\"]\nfrom = \"2026-11-02\"\nto = \"2026-11-03\"\n\
    [[report]]\nagents = [\"jdoe\"]\ndates = [\"2026-11-02\"]\ntimezone = \"Europe/London\"\nformat = \"json\"\n";

#[test]
fn report_and_run_over_s3_give_the_bytes_of_the_local_copy() {
    let Some((server, bucket)) = on_s3("examples") else {
        return;
    };
    let events = root().join("examples/events");
    // The Firehose part is gzip objects in an hour layout (YYYY/MM/DD/HH/).
    bucket.upload_tree(&events, "connect/events");
    let config = root().join("examples/agent-audit.toml");
    for e in expected_reports() {
        let run = |events: &str| {
            stdout_of(
                bin_on(server)
                    .args(["report", "--events", events, "--agent", &e.login])
                    .args(["--date", &e.date, "--timezone", &e.zone])
                    .args(["--format", &e.format, "--config"])
                    .arg(&config),
            )
        };
        let local = run(events.to_str().unwrap());
        assert_eq!(
            run(&bucket.url("connect/events")),
            local,
            "{}",
            e.path.display()
        );
        assert!(!local.is_empty());
    }

    // `run`: S3 in and S3 out give what local in and local out give.
    let dir = TempDir::new().unwrap();
    let config = config.display();
    let rest = format!("config = \"{config}\"\n{EXAMPLE_REPORTS}");
    let local_out = dir.path().join("reports");
    write_batch(
        &dir.path().join("local.toml"),
        &events.display().to_string(),
        &local_out.display().to_string(),
        &rest,
    );
    write_batch(
        &dir.path().join("s3.toml"),
        &bucket.url("connect/events/"),
        &bucket.url("reports/"),
        &rest,
    );
    bin()
        .arg("run")
        .arg(dir.path().join("local.toml"))
        .assert()
        .success();
    bin_on(server)
        .arg("run")
        .arg(dir.path().join("s3.toml"))
        .assert()
        .success()
        .stdout(contains("7 report(s): 7 written"));
    let mut from_s3 = bucket.download("reports");
    let mut local = tree(&local_out);
    let manifest_s3 = String::from_utf8(from_s3.remove("manifest.json").unwrap()).unwrap();
    let manifest_local = String::from_utf8(local.remove("manifest.json").unwrap()).unwrap();
    assert_eq!(from_s3, local);
    assert_eq!(local.len(), 7);
    // The manifest names each report by where it was written; the run's identity names
    // where its events were read, which differs too.
    let without_run = |m: &str| -> String {
        m.lines()
            .filter(|l| !l.starts_with("  \"run\": "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        without_run(&manifest_s3.replace(&bucket.url("reports"), &local_out.display().to_string())),
        without_run(&manifest_local)
    );
    assert!(
        manifest_s3
            .contains("\"file\": \"s3://examples/reports/jdoe/2026-11-02_Europe-London.json\"")
    );
}

/// Concatenated JSON objects, as Firehose writes them, gzip'd when `gzip`.
fn firehose_object(records: &[&[u8]], gzip: bool) -> Vec<u8> {
    let body: Vec<u8> = records.concat();
    if !gzip {
        return body;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&body).unwrap();
    enc.finish().unwrap()
}

/// Synthetic events of `agents` agents over 2026-11-02, one JSON object per record.
fn synthetic(agents: usize, seed: u64) -> Vec<Vec<u8>> {
    use agent_audit_testkit::synth::{Synth, SynthOptions};
    let mut synth = Synth::new(SynthOptions {
        agents,
        days: 1,
        start: date("2026-11-02"),
        seed,
        zone: tz("America/New_York"),
    });
    let mut records = Vec::new();
    let mut text = Vec::new();
    while synth.next_event(&mut text).is_some() {
        records.push(std::mem::take(&mut text));
    }
    records
}

#[test]
fn a_thousand_small_gzip_and_plain_objects_in_hour_folders_read_like_the_local_tree() {
    let Some((server, bucket)) = on_s3("thousand") else {
        return;
    };
    let records = synthetic(6, 11);
    // 1,010 objects (more than one listing page), alternately gzip and plain, spread over
    // the day's hour folders in arrival order, records in turn.
    let count = 1010;
    let dir = TempDir::new().unwrap();
    let local = dir.path().join("firehose");
    let mut objects = Vec::new();
    for i in 0..count {
        let part: Vec<&[u8]> = records
            .iter()
            .skip(i)
            .step_by(count)
            .map(Vec::as_slice)
            .collect();
        let hour = i * 24 / count;
        let key = format!("2026/11/02/{hour:02}/agent-events-1-2026-11-02-{hour:02}-{i:05}.gz");
        let bytes = firehose_object(&part, i % 2 == 0);
        let path = local.join(&key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &bytes).unwrap();
        objects.push((format!("stream/{key}"), bytes));
    }
    bucket.put_all(objects);
    let batch = |name: &str, events: &str, out: &Path| {
        let path = dir.path().join(name);
        write_batch(
            &path,
            events,
            &out.display().to_string(),
            "timezone = \"America/New_York\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
        );
        path
    };
    let (from_disk, from_s3) = (dir.path().join("disk"), dir.path().join("s3"));
    bin()
        .arg("run")
        .arg(batch("disk.toml", &local.display().to_string(), &from_disk))
        .assert()
        .success();
    bin_on(server)
        .arg("run")
        .arg(batch("s3.toml", &bucket.url("stream"), &from_s3))
        .assert()
        .success()
        .stdout(contains("6 report(s): 6 written"));
    let reports = |d: &Path| {
        let mut t = tree(d);
        t.remove("manifest.json");
        t
    };
    assert_eq!(reports(&from_s3), reports(&from_disk));
    assert_eq!(reports(&from_disk).len(), 6);
    // One agent's report reads the same from both.
    let one = |events: &str| {
        stdout_of(
            bin_on(server)
                .args(["report", "--events", events, "--agent", "agent00003"])
                .args(["--date", "2026-11-02", "--timezone", "America/New_York"]),
        )
    };
    let disk = one(&local.display().to_string());
    assert!(disk.len() > 100);
    assert_eq!(one(&bucket.url("stream/2026/11/02")), disk);
}

#[test]
fn a_missing_prefix_or_bucket_is_an_error_naming_it_not_an_empty_report() {
    let Some((server, bucket)) = on_s3("sparse") else {
        return;
    };
    bucket.put_events(
        "events/a.jsonl",
        &[event("jdoe", "LOGIN", "2026-11-02T13:00:00Z")],
    );
    for (url, says) in [
        (
            bucket.url("event"),
            "s3://sparse/event: no objects under this prefix",
        ),
        (
            bucket.url("events/b.jsonl"),
            "s3://sparse/events/b.jsonl: no objects under this prefix",
        ),
        (
            "s3://no-such-bucket/x".to_string(),
            "s3://no-such-bucket/x: no such bucket",
        ),
    ] {
        bin_on(server)
            .args(["report", "--events", &url, "--agent", "jdoe"])
            .args(["--date", "2026-11-02", "--timezone", "UTC"])
            .assert()
            .code(1)
            .stdout("")
            .stderr(contains(says));
    }
    // The object itself, named exactly, is read like a file.
    bin_on(server)
        .args([
            "report",
            "--events",
            &bucket.url("events/a.jsonl"),
            "--agent",
            "jdoe",
        ])
        .args(["--date", "2026-11-02", "--timezone", "UTC"])
        .assert()
        .success()
        .stdout(contains("jdoe,"));
}

/// Sets up a moto server that checks credentials and policies: a bucket whose object
/// `denied.jsonl` the reader may not get and under whose `reports/mrivera/` it may not put.
/// Returns the server, the reader's keys and the bucket (opened with them).
fn guarded(objects: &[(&str, String)]) -> Option<(Server, String, String)> {
    // Every request is free until the setup's own ones are done: the bucket, the objects,
    // the user, its key and its policy.
    let free = 4 + objects.len();
    let server = server::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", free.to_string())])?;
    let dir = TempDir::new().unwrap();
    let mut args = vec![server.endpoint.clone(), "guarded".to_string()];
    for (key, body) in objects {
        let path = dir.path().join(key.replace('/', "_"));
        fs::write(&path, body).unwrap();
        args.push(format!("{key}={}", path.display()));
    }
    let out = stdout_of(
        assert_cmd::Command::new("python3")
            .arg(root().join("tests/integration/s3/guarded.py"))
            .args(&args),
    );
    let keys = String::from_utf8(out).unwrap();
    let (id, secret) = keys.trim().split_once(' ').unwrap();
    Some((server, id.to_string(), secret.to_string()))
}

#[test]
fn a_denied_object_fails_the_run_naming_it_and_a_denied_write_fails_its_report() {
    let day = |login: &str| {
        lines(&[
            event(login, "LOGIN", "2026-11-02T13:00:00Z").status("Available"),
            event(login, "LOGOUT", "2026-11-02T21:00:00Z").status("Offline"),
        ])
    };
    let readable = ("a.jsonl", day("jdoe") + day("mrivera").as_str());
    let Some((server, id, secret)) = guarded(&[readable.clone(), ("denied.jsonl", day("asmith"))])
    else {
        return;
    };
    let dir = TempDir::new().unwrap();
    // An object that cannot be read fails every report (any of them could miss its
    // events): exit 1 naming it, and nothing is written.
    let out = run_guarded(&server, &id, &secret, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot read `s3://guarded/denied.jsonl`: access denied"),
        "{stderr}"
    );
    assert!(!stderr.contains("records before this point"), "{stderr}");
    let bucket = Bucket::open(&server.endpoint, "guarded", &id, &secret);
    assert!(bucket.download("reports").is_empty());
    drop(server);

    // The readable object alone: jdoe is written, asmith is not in it, mrivera's
    // upload is denied.
    let Some((server, id, secret)) = guarded(&[readable]) else {
        return;
    };
    let out = run_guarded(&server, &id, &secret, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("failed: asmith 2026-11-02 (UTC): agent `asmith` not found"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "cannot write `s3://guarded/reports/mrivera/2026-11-02_UTC.csv`: access denied"
        ),
        "{stderr}"
    );
    let bucket = Bucket::open(&server.endpoint, "guarded", &id, &secret);
    let written = bucket.download("reports");
    assert_eq!(
        written.keys().collect::<Vec<_>>(),
        ["jdoe/2026-11-02_UTC.csv", "manifest.json"],
        "the upload that failed left nothing under its key"
    );
    assert!(
        String::from_utf8_lossy(&written["jdoe/2026-11-02_UTC.csv"]).contains("jdoe,Available")
    );
    let manifest: serde_json::Value = serde_json::from_slice(&written["manifest.json"]).unwrap();
    let statuses: Vec<&str> = manifest["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["failed", "written", "failed"]);
}

/// `run` of a batch over the guarded bucket (jdoe, asmith and mrivera on 2026-11-02),
/// with the reader's keys from a shared credentials file and its region from the config
/// file: the profile part of the credential chain. The server refuses any other keys, so
/// success means the profile was read.
fn run_guarded(server: &Server, id: &str, secret: &str, dir: &Path) -> std::process::Output {
    let aws = dir.join("aws");
    fs::create_dir_all(&aws).unwrap();
    fs::write(
        aws.join("credentials"),
        format!("[audit]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    fs::write(aws.join("config"), "[profile audit]\nregion = us-east-1\n").unwrap();
    let batch = dir.join("batch.toml");
    // moto checks signatures of listings with a `prefix` wrongly, so the events are
    // the bucket's root.
    write_batch(
        &batch,
        "s3://guarded",
        "s3://guarded/reports",
        "timezone = \"UTC\"\n[[report]]\nagents = [\"jdoe\", \"asmith\", \"mrivera\"]\ndates = [\"2026-11-02\"]\n",
    );
    bin()
        .envs(server.env())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_REGION")
        .env("AWS_PROFILE", "audit")
        .env("AWS_SHARED_CREDENTIALS_FILE", aws.join("credentials"))
        .env("AWS_CONFIG_FILE", aws.join("config"))
        .arg("run")
        .arg(&batch)
        .output()
        .unwrap()
}

#[test]
fn watch_on_a_prefix_picks_up_a_new_object_once() {
    let Some((server, bucket)) = on_s3("watched") else {
        return;
    };
    bucket.put_events(
        "events/2026/11/02/13/first.jsonl",
        &[event("jdoe", "LOGIN", "2026-11-02T13:00:00Z").status("Available")],
    );
    let dir = TempDir::new().unwrap();
    fs::write(
        dir.path().join("agent-audit.toml"),
        format!(
            "[s3]\nendpoint_url = \"{}\"\npoll_secs = 0.3\n",
            server.endpoint
        ),
    )
    .unwrap();
    let batch = dir.path().join("batch.toml");
    write_batch(
        &batch,
        &bucket.url("events"),
        "reports",
        "config = \"agent-audit.toml\"\ntimezone = \"UTC\"\n\
         [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agent-audit"));
    // The endpoint comes from the configuration here.
    cmd.envs(server.env())
        .env_remove("AWS_ENDPOINT_URL")
        .args(["watch", "--quiet"])
        .arg(&batch);
    let mut watch = crate::watch::Watch::spawn(&mut cmd);
    let report = dir.path().join("reports/jdoe/2026-11-02_UTC.csv");
    assert!(!fs::read_to_string(&report).unwrap().contains("Lunch"));

    bucket.put(
        "events/2026/11/02/17/second.jsonl",
        lines(&[event("jdoe", "STATE_CHANGE", "2026-11-02T17:00:00Z").status("Lunch")])
            .into_bytes(),
    );
    let line = watch.wait_for(|l| l.contains("changed"));
    assert!(
        line.contains(
            "s3://watched/events/2026/11/02/17/second.jsonl changed (1 agent(s) with new events"
        ) && line.contains("; 1 report(s) re-emitted"),
        "{line}"
    );
    assert!(
        fs::read_to_string(&report)
            .unwrap()
            .contains("jdoe,Lunch,2026-11-02T17:00:00.000+00:00")
    );
    // Later polls see the same keys and ETags: nothing more happens.
    let extra = watch.settle(Duration::from_secs(2));
    assert!(extra.iter().all(|l| !l.contains("changed")), "{extra:?}");
    // Only the new object was read: the first one was fetched once, at the start.
    for key in ["13/first.jsonl", "17/second.jsonl"] {
        let get = format!("\"GET /watched/events/2026/11/02/{key} ");
        assert_eq!(server.requests(&get), 1, "{key}");
    }
}

#[test]
fn three_shards_writing_to_s3_at_once_merge_into_the_single_machine_output() {
    let Some((server, bucket)) = on_s3("sharded") else {
        return;
    };
    let records = synthetic(24, 3);
    let objects = records
        .chunks(records.len().div_ceil(40))
        .enumerate()
        .map(|(i, chunk)| {
            let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            (
                format!("events/2026/11/02/{:02}/part-{i:03}.gz", i * 24 / 40),
                firehose_object(&refs, true),
            )
        })
        .collect();
    bucket.put_all(objects);
    let dir = TempDir::new().unwrap();
    // HTML as well, so there is an index page to merge; and one agent not in the events.
    let reports = "timezone = \"America/New_York\"\n\
        [[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\nformat = \"html\"\n\
        [[report]]\nagents = [\"agent00005\", \"nobody\"]\ndates = [\"2026-11-02\"]\nkind = \"summary\"\n";
    for (name, out) in [
        ("s3", bucket.url("reports")),
        ("local", dir.path().join("reports").display().to_string()),
    ] {
        let batch = dir.path().join(format!("{name}.toml"));
        write_batch(&batch, &bucket.url("events"), &out, reports);
        let fetch = || -> BTreeMap<String, Vec<u8>> {
            if name == "s3" {
                bucket.download("reports")
            } else {
                tree(&dir.path().join("reports"))
            }
        };
        let single = bin_on(server).arg("run").arg(&batch).output().unwrap();
        assert_eq!(
            single.status.code(),
            Some(1),
            "the agent not in the events fails"
        );
        let one_machine = fetch();
        assert!(
            one_machine.contains_key("index.html") && one_machine.contains_key("manifest.json")
        );
        assert_eq!(
            one_machine.len(),
            24 + 1 + 2,
            "{name}: {:?}",
            one_machine.keys()
        );
        if name == "s3" {
            bucket.delete_all("reports");
        } else {
            fs::remove_dir_all(dir.path().join("reports")).unwrap();
        }

        // Three processes at the same time, each writing its share and its manifest.
        let shards: Vec<std::process::Child> = (0..3)
            .map(|k| {
                Command::new(env!("CARGO_BIN_EXE_agent-audit"))
                    .envs(server.env())
                    .args(["run", "--quiet", "--shard", &format!("{k}/3")])
                    .arg(&batch)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let codes: Vec<Option<i32>> = shards
            .into_iter()
            .map(|mut c| c.wait().unwrap().code())
            .collect();
        assert_eq!(
            codes.iter().filter(|c| **c == Some(1)).count(),
            1,
            "{codes:?}"
        );
        assert!(codes.iter().all(|c| matches!(c, Some(0 | 1))), "{codes:?}");

        // The failed report is in the merged manifest too, so `merge` exits 1 like `run`.
        bin_on(server)
            .args(["merge", &out])
            .assert()
            .code(1)
            .stdout(contains(format!(
                "3 shard(s) merged into {out}: 26 report(s): 25 written, 0 denied, 1 failed"
            )));
        let mut merged = fetch();
        for k in 0..3 {
            assert!(merged.remove(&format!("manifest-{k}-of-3.json")).is_some());
            assert!(merged.remove(&format!("index-{k}-of-3.html")).is_some());
        }
        assert_eq!(merged, one_machine, "{name}");
    }
    let lone = TempDir::new().unwrap();
    fs::write(lone.path().join("manifest-1-of-3.json"), "{}").unwrap();
    bin()
        .arg("merge")
        .arg(lone.path())
        .assert()
        .code(1)
        .stderr(contains(
            "shard 0 of 3 is missing: no manifest-0-of-3.json in",
        ));
}

#[test]
fn throttling_and_server_errors_are_retried_with_backoff() {
    let Some((server, bucket)) = on_s3("flaky") else {
        return;
    };
    bucket.put_events(
        "events/a.jsonl",
        &[
            event("jdoe", "LOGIN", "2026-11-02T13:00:00Z").status("Available"),
            event("jdoe", "LOGOUT", "2026-11-02T21:00:00Z").status("Offline"),
        ],
    );
    let report =
        |endpoint: &str| stdout_of(jdoe_report(server, &bucket).env("AWS_ENDPOINT_URL", endpoint));
    let direct = report(&server.endpoint);
    let flaky = server::Flaky::start(server, 3);
    assert_eq!(report(&flaky.endpoint), direct);
    assert_eq!(
        flaky.refused.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "every refusal was retried"
    );
}

#[test]
fn a_large_object_of_json_lines_is_read_in_pieces_like_a_large_file() {
    use agent_audit::input::{expand, pieces};
    use agent_audit::store::{Agent, ReadOptions, Store};
    let Some((server, bucket)) = on_s3("pieces") else {
        return;
    };
    let mut text = synthetic(2, 5).join(&b"\n"[..]);
    text.push(b'\n');
    let dir = TempDir::new().unwrap();
    let local = dir.path().join("big.jsonl");
    fs::write(&local, &text).unwrap();
    server.put_public(&bucket.name, "export/big.jsonl", &text);
    // In this process: the server's endpoint, and no credentials (a public object); the
    // listed objects carry these settings into every read below.
    let settings = agent_audit::s3::Settings {
        endpoint_url: Some(server.endpoint.clone()),
        unsigned: true,
        ..Default::default()
    };
    let from_s3 = expand(&[bucket.url("export").into()], &settings).unwrap();
    let from_disk = expand(&[local], &Default::default()).unwrap();
    let cut = pieces(
        &from_s3,
        &agent_audit::input::Facts::of_all(&from_s3).unwrap(),
        128 << 10,
    )
    .unwrap();
    assert!(cut.len() > 20, "the object is cut into pieces");
    assert_eq!(
        cut,
        pieces(
            &from_disk,
            &agent_audit::input::Facts::of_all(&from_disk).unwrap(),
            128 << 10
        )
        .unwrap()
    );
    let small = ReadOptions {
        piece_size: 128 << 10,
        ..ReadOptions::default()
    };
    let (a, b) = (
        Store::read(&from_s3, &small).unwrap(),
        Store::read(&from_disk, &ReadOptions::default()).unwrap(),
    );
    assert_eq!(a.agents.len(), 2);
    for agent in &b.agents {
        let other = a.agent_by_arn(&agent.arn).unwrap();
        let times = |x: &Agent| -> Vec<i64> { x.events.iter().map(|e| e.at.0).collect() };
        assert_eq!(times(other), times(agent));
        let seqs: Vec<u64> = other.events.iter().map(|e| e.seq).collect();
        assert!(seqs.is_sorted(), "input order is kept across pieces");
    }
}

/// Four objects of three agents' day.
fn four_objects(bucket: &Bucket) {
    for (i, login) in ["jdoe", "asmith", "jdoe", "mrivera"].iter().enumerate() {
        bucket.put_events(
            &format!("events/{i}.jsonl"),
            &[
                event(login, "LOGIN", &format!("2026-11-02T1{i}:00:00Z")).status("Available"),
                event(login, "LOGOUT", &format!("2026-11-02T2{i}:00:00Z")).status("Offline"),
            ],
        );
    }
}

#[test]
fn each_object_is_fetched_once_per_read() {
    let Some((server, bucket)) = on_s3("once") else {
        return;
    };
    four_objects(&bucket);
    let gets = || {
        (0..4)
            .map(|i| server.requests(&format!("GET /once/events/{i}.jsonl ")))
            .collect::<Vec<_>>()
    };
    let before = gets();
    stdout_of(&mut jdoe_report(server, &bucket));
    let after: Vec<usize> = gets().iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        after,
        [1, 1, 1, 1],
        "GETs per object by a single-agent report"
    );
    let dir = TempDir::new().unwrap();
    let batch = dir.path().join("b.toml");
    write_batch(
        &batch,
        &bucket.url("events"),
        &dir.path().join("out").display().to_string(),
        "timezone = \"UTC\"\n[[report]]\nagents = [\"*\"]\ndates = [\"2026-11-02\"]\n",
    );
    let before = gets();
    bin_on(server).arg("run").arg(&batch).assert().success();
    let after: Vec<usize> = gets().iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(after, [1, 1, 1, 1], "GETs per object by run");
}

/// jdoe's report of 2026-11-02 over `bucket/events`, through `faulty`. The timeout guards
/// against a hang; it is no speed target.
fn jdoe_through(server: &Server, faulty: &server::Faulty, bucket: &Bucket) -> std::process::Output {
    jdoe_report(server, bucket)
        .env("AWS_ENDPOINT_URL", &faulty.endpoint)
        .timeout(Duration::from_secs(300))
        .output()
        .unwrap()
}

/// `report` of jdoe's 2026-11-02 (UTC) over `bucket/events`.
fn jdoe_report(server: &Server, bucket: &Bucket) -> assert_cmd::Command {
    let mut cmd = bin_on(server);
    cmd.args([
        "report",
        "--events",
        &bucket.url("events"),
        "--agent",
        "jdoe",
    ])
    .args(["--date", "2026-11-02", "--timezone", "UTC"]);
    cmd
}

#[test]
fn a_download_cut_off_every_time_fails_the_report_naming_the_object() {
    let Some((server, bucket)) = on_s3("cut") else {
        return;
    };
    four_objects(&bucket);
    let faulty = server::Faulty::start(server, server::Fault::CutBodies(400));
    let out = jdoe_through(server, &faulty, &bucket);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://cut/events/"), "{stderr}");
    assert!(!stderr.contains("records before this point"), "{stderr}");
    assert!(out.stdout.is_empty(), "no partial report");
    // The listing, then the download tried again (5 retries) before it failed.
    let reached = faulty.requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(reached > 6, "{reached} requests reached the proxy");
}

#[test]
fn an_endpoint_gone_after_the_listing_fails_fast_on_one_retry_budget() {
    let Some((server, bucket)) = on_s3("gone") else {
        return;
    };
    let objects: Vec<(String, Vec<u8>)> = (0..64)
        .map(|i| {
            let e = event("jdoe", "HEART_BEAT", &format!("2026-11-02T12:{i:02}:00Z"))
                .status("Available");
            (format!("events/{i:03}.jsonl"), lines(&[e]).into_bytes())
        })
        .collect();
    bucket.put_all(objects);
    let faulty = server::Faulty::start(server, server::Fault::GoneAfterListing);
    let started = std::time::Instant::now();
    let out = jdoe_through(server, &faulty, &bucket);
    eprintln!(
        "gone endpoint, 64 objects: failed after {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("s3://gone/events/"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("refused") || stderr.contains("endpoint gone"),
        "{stderr}"
    );
}
