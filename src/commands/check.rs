//! `agent-audit check`: parse, compile and validate every file of a configuration and run
//! the tests embedded next to them. Exit 0 when all pass, 1 when a test fails, 2 when a
//! file is invalid; every problem is printed as `file:line:col: message`.

use crate::cli::ConfigArgs;
use agent_audit::error::Error;
use agent_audit::generation::Generation;

pub fn run(args: &ConfigArgs) -> Result<(), Error> {
    let generation = match Generation::load(args.config.as_deref()) {
        Ok(g) => g,
        Err(errors) => {
            for e in &errors {
                println!("{}", e.render());
            }
            return Err(Error::InvalidFiles(errors.len()));
        }
    };
    let results = generation.run_tests();
    let mut failed = 0;
    for r in results.iter().filter(|r| r.outcome.is_err()) {
        failed += 1;
        println!("{}", r.render());
    }
    println!(
        "{} file(s), {} status(es), {} of {} test(s) passed, configuration {}",
        generation.files.len(),
        generation.classifier.catalog.definitions().len(),
        results.len() - failed,
        results.len(),
        generation.hash
    );
    if failed > 0 {
        return Err(Error::TestsFailed(failed));
    }
    Ok(())
}
