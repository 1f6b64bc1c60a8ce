//! The shipped deployment (`deploy/`, `docs/running-at-scale.md`) as written: the
//! Kubernetes manifests pass an offline schema check; the configuration laid out the way
//! the Job's ConfigMap `items` lay it out loads and passes its own tests; and the very
//! commands of the Indexed Job, the AWS Batch array job and the merge Job, run as their
//! pods would (three at a time, against the S3 server), give the single-machine output.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use predicates::str::contains;
use tempfile::TempDir;

use super::server::{self, Bucket, Server};
use super::{bin_on, root};
use crate::support::*;

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap()
}

/// `key: K` / `path: P` pairs of the Job's ConfigMap volume.
fn items(manifest: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut key = None;
    for line in manifest.lines().map(str::trim) {
        if let Some(k) = line.strip_prefix("- key: ") {
            key = Some(k.to_string());
        } else if let (Some(p), Some(k)) = (line.strip_prefix("path: "), key.take()) {
            pairs.push((k, p.to_string()));
        }
    }
    pairs
}

/// The `kubectl create configmap` command in the manifest's header, joined into one line.
fn configmap_command(manifest: &str) -> String {
    let lines: Vec<&str> = manifest
        .lines()
        .map(|l| l.trim_start_matches('#').trim())
        .skip_while(|l| !l.starts_with("kubectl create configmap"))
        .collect();
    let mut command = String::new();
    for line in lines {
        command.push_str(line.trim_end_matches('\\').trim());
        command.push(' ');
        if !line.ends_with('\\') {
            break;
        }
    }
    command.trim().to_string()
}

#[test]
fn the_kubernetes_manifests_pass_an_offline_schema_check() {
    let Some(validate) = server::program("kubernetes-validate", "kubernetes-validate") else {
        return;
    };
    for file in ["deploy/k8s-indexed-job.yaml", "deploy/k8s-merge-job.yaml"] {
        let out = Command::new(&validate)
            .args(["--strict", "--no-warn"])
            .arg(root().join(file))
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{file}: {said}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(said.contains("passed"), "{said}");
    }
    // The check is real: a misspelt field fails it.
    let dir = TempDir::new().unwrap();
    let broken = dir.path().join("broken.yaml");
    fs::write(
        &broken,
        read("deploy/k8s-indexed-job.yaml").replace("completionMode", "completionMod"),
    )
    .unwrap();
    let out = Command::new(&validate)
        .arg("--strict")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

/// The configuration as the pods see it, from the repository's files.
fn config_layout(dir: &Path) -> std::path::PathBuf {
    let manifest = read("deploy/k8s-indexed-job.yaml");
    let command = configmap_command(&manifest);
    let sources: BTreeMap<String, String> = command
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("--from-file="))
        .map(|f| {
            (
                Path::new(f).file_name().unwrap().to_string_lossy().into(),
                f.to_string(),
            )
        })
        .collect();
    let items = items(&manifest);
    assert_eq!(
        items.iter().map(|(k, _)| k).collect::<BTreeSet<_>>(),
        sources.keys().collect::<BTreeSet<_>>(),
        "every file of the ConfigMap is mounted, and only those"
    );
    let config = dir.join("config");
    for (key, path) in &items {
        let source = sources
            .get(key)
            .unwrap_or_else(|| panic!("no --from-file for `{key}`"));
        let to = config.join(path);
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(root().join(source), to).unwrap();
    }
    // The docs give the same command.
    assert!(read("docs/running-at-scale.md").contains(&command.replace(" --", " \\\n  --")));
    config
}

#[test]
fn the_configmap_layout_loads_and_passes_its_tests() {
    let dir = TempDir::new().unwrap();
    let config = config_layout(dir.path());
    bin()
        .arg("check")
        .arg("--config")
        .arg(config.join("agent-audit.toml"))
        .assert()
        .success();
}

/// Runs a pod's shell command, with `/config` at `config`, once per index at the same time.
fn run_pods(server: &Server, command: &str, index_var: &str, count: u32, config: &Path) {
    let command = command.replace("/config/", &format!("{}/", config.display()));
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_agent-audit"))
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pods: Vec<_> = (0..count)
        .map(|k| {
            Command::new("/bin/sh")
                .args(["-c", &command])
                .envs(server.env())
                .env("PATH", &path)
                .env(index_var, k.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for pod in pods {
        let out = pod.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What the output prefix holds, the shards' own files aside.
fn merged_output(bucket: &Bucket) -> BTreeMap<String, Vec<u8>> {
    let mut files = bucket.download("nightly");
    files.retain(|name, _| !name.contains("-of-"));
    files
}

#[test]
fn the_indexed_job_and_the_batch_array_job_run_as_written_and_merge_to_one_machine_output() {
    let Some(server) = server::shared() else {
        return;
    };
    let events = server.bucket("acme-connect-events");
    events.upload_tree(&root().join("examples/events"), "connect/agent-events");
    let reports = server.bucket("acme-audit-reports");
    let dir = TempDir::new().unwrap();
    let config = config_layout(dir.path());
    let batch = config.join("batch.toml");

    bin_on(server).arg("run").arg(&batch).assert().success();
    let one_machine = merged_output(&reports);
    assert!(one_machine.contains_key("index.html"));
    assert_eq!(one_machine.len(), 6 + 2, "{:?}", one_machine.keys());

    let job = read("deploy/k8s-indexed-job.yaml");
    let pod = job
        .lines()
        .find_map(|l| l.trim().strip_prefix("- exec agent-audit run"))
        .map(|rest| format!("exec agent-audit run{rest}"))
        .unwrap();
    assert!(job.contains("completions: 3") && pod.contains("${JOB_COMPLETION_INDEX}/3"));
    let definition: serde_json::Value =
        serde_json::from_str(&read("deploy/aws-batch-job-definition.json")).unwrap();
    let array = definition["containerProperties"]["command"][2]
        .as_str()
        .unwrap()
        .to_string();
    assert!(array.contains("${AWS_BATCH_JOB_ARRAY_INDEX}/3"));
    let merge_job = read("deploy/k8s-merge-job.yaml");
    let merge_args = r#"args: ["merge", "s3://acme-audit-reports/nightly/"]"#;
    assert!(merge_job.contains(merge_args));
    let docs = read("docs/running-at-scale.md");
    for (command, index_var) in [
        (pod, "JOB_COMPLETION_INDEX"),
        (array, "AWS_BATCH_JOB_ARRAY_INDEX"),
    ] {
        reports.delete_all("nightly");
        run_pods(server, &command, index_var, 3, &config);
        bin_on(server)
            .args(["merge", "s3://acme-audit-reports/nightly/"])
            .assert()
            .success()
            .stdout(contains("3 shard(s) merged"));
        assert_eq!(merged_output(&reports), one_machine, "{command}");
    }
    assert!(docs.contains("agent-audit merge s3://acme-audit-reports/nightly/"));
}
