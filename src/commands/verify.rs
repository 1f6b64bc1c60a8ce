//! `agent-audit verify OUT_DIR` and `agent-audit verify-log FILE...`: the evidence checked
//! as an auditor receives it.

use std::io::BufReader;

use crate::cli::{VerifyArgs, VerifyLogArgs};
use agent_audit::access::log::verify_chain;
use agent_audit::error::Error;

pub fn out_dir(args: &VerifyArgs) -> Result<(), Error> {
    let s3 = super::s3_settings(args.config.as_deref())?;
    let verified = agent_audit::batch::verify(&args.dir, &s3)?;
    let dir = args.dir.display();
    for finding in &verified.findings {
        println!("{dir}/{}: {}", finding.file, finding.what);
    }
    let manifests: Vec<String> = verified
        .manifests
        .iter()
        .map(|(name, configuration)| format!("{name} (configuration {configuration})"))
        .collect();
    if verified.findings.is_empty() {
        println!(
            "{dir}: {} report(s), {} file(s) written, each matching its size and SHA-256 in {}",
            verified.reports,
            verified.written,
            manifests.join(", ")
        );
        Ok(())
    } else {
        eprintln!(
            "error: {dir}: {} file(s) do not match {}",
            verified.findings.len(),
            manifests.join(", ")
        );
        Err(Error::Shown(1))
    }
}

pub fn log(args: &VerifyLogArgs) -> Result<(), Error> {
    if let Some(after) = &args.after
        && (after.len() != 64 || !after.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Error::Usage(format!(
            "--after `{after}` is not a SHA-256 in hex (64 hex digits)"
        )));
    }
    let mut files = Vec::new();
    for path in &args.files {
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        files.push((path.display().to_string(), BufReader::new(file)));
    }
    let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
    match verify_chain(files, args.after.as_deref()) {
        Err(e) => Err(Error::Usage(format!("reading {}: {e}", names.join(", ")))),
        Ok(Ok(chain)) => {
            println!(
                "{}: {} line(s), the chain holds from {}; head {}",
                names.join(", "),
                chain.lines,
                if args.after.is_some() {
                    "the given head"
                } else {
                    "its start"
                },
                chain.head
            );
            Ok(())
        }
        Ok(Err(broken)) => {
            eprintln!("error: {}:{}: {}", broken.file, broken.line, broken.what);
            Err(Error::Shown(1))
        }
    }
}
