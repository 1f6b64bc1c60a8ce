//! `agent-audit statuses`: the effective status catalogue and where each status came from.

use crate::cli::{ListFormat, StatusesArgs};
use agent_audit::error::Error;
use agent_audit::generation::Generation;

pub fn run(args: &StatusesArgs) -> Result<(), Error> {
    let generation = Generation::load(args.config.config.as_deref()).map_err(Error::Config)?;
    let catalog = &generation.classifier.catalog;
    let mut defs: Vec<_> = catalog.definitions().iter().collect();
    defs.sort_by_key(|d| (d.display_order.unwrap_or(u8::MAX), d.name.clone()));
    if args.format == ListFormat::Json {
        let statuses: Vec<_> = defs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "name": d.name,
                    "type": d.kind.as_str(),
                    "order": d.display_order,
                    "color": d.color,
                    "productive": d.productive,
                    "from": d.origin,
                    "description": d.description,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "catalog": catalog.name,
            "configuration": generation.hash,
            "agent_statuses": catalog.agent_status_count(),
            "statuses": statuses,
        });
        println!("{doc:#}");
        return Ok(());
    }

    let header = [
        "STATUS",
        "TYPE",
        "ORDER",
        "COLOR",
        "PRODUCTIVE",
        "FROM",
        "DESCRIPTION",
    ];
    let rows: Vec<[String; 7]> = defs
        .iter()
        .map(|d| {
            [
                d.name.clone(),
                d.kind.as_str().to_string(),
                d.display_order
                    .map(|o| o.to_string())
                    .unwrap_or_else(|| "-".into()),
                d.color.clone().unwrap_or_else(|| "-".into()),
                match d.productive {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
                d.origin.clone(),
                d.description.clone(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string()
    };
    println!("{}", line(&header.map(String::from)));
    for row in &rows {
        println!("{}", line(row));
    }
    println!(
        "\n{} statuses ({} agent statuses) in catalogue `{}`, configuration {}",
        defs.len(),
        catalog.agent_status_count(),
        catalog.name,
        generation.hash
    );
    Ok(())
}
