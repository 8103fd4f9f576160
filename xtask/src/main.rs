//! Project tasks. `cargo xtask codegen [--spec PATH] [--check]` derives `crates/asff/src/model.rs`
//! from the Security Hub API model (botocore `service-2.json`).

mod codegen;
mod operations;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask codegen [--spec PATH] [--check]";

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let Some(task) = args.next() else {
        bail!("{USAGE}");
    };
    match task.as_str() {
        "codegen" => {
            let mut spec = None;
            let mut check = false;
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--check" => check = true,
                    "--spec" => spec = Some(PathBuf::from(args.next().context("--spec needs a path")?)),
                    other => bail!("unknown argument {other:?}\n{USAGE}"),
                }
            }
            let root = workspace_root();
            let spec = spec.unwrap_or_else(|| root.join("../shared/spec/securityhub-2018-10-26.service-2.json"));
            codegen::run(&root, &spec, check)
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => bail!("unknown task {other:?}\n{USAGE}"),
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}
