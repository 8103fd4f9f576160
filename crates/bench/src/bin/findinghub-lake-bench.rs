//! `findinghub-lake-bench`: findings into the Security Lake, as the outbox will feed it: parsed
//! findings (the benchmark's synthetic ones of about 2 kB, a third each made Vulnerability,
//! Compliance and Detection findings) appended to a `LakeWriter` over a local directory and
//! flushed; prints findings/s and the bytes each finding takes on disk (medians of several runs),
//! and writes them to a file.
//!
//! ```text
//! cargo build --release -p findinghub-bench
//! target/release/findinghub-lake-bench --findings 200000 --runs 3 --out BENCHMARKS-lake.md
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use findinghub_asff::timestamp::now_micros;
use findinghub_bench::finding_json;
use findinghub_lake::writer::LakeConfig;
use findinghub_lake::{LakeWriter, ObjectStoreSink, to_ocsf};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Args {
    /// Findings per run.
    #[arg(long, default_value_t = 200_000)]
    findings: u64,
    /// Runs; the figures are their medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The Markdown file to write.
    #[arg(long, default_value = "BENCHMARKS-lake.md")]
    out: PathBuf,
}

/// The i-th synthetic finding, parsed, made one of the three classes.
fn finding(i: u64, now: i64) -> Result<Map<String, Value>> {
    let mut f: Map<String, Value> = serde_json::from_str(&finding_json(i, now)).context("a synthetic finding")?;
    match i % 3 {
        0 => {}
        1 => {
            f.remove("Compliance");
            f.insert(
                "Vulnerabilities".into(),
                json!([{"Id": format!("CVE-2026-{:05}", i % 100_000),
                        "Cvss": [{"BaseScore": 7.5, "BaseVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", "Version": "3.1"}],
                        "VulnerablePackages": [{"Name": "openssl", "Version": "1.0.2k", "FixedInVersion": "1.0.2k-24"}],
                        "FixAvailable": "YES", "Vendor": {"Name": "NVD"}}]),
            );
        }
        _ => {
            f.remove("Compliance");
        }
    }
    Ok(f)
}

fn dir_bytes(dir: &Path) -> Result<(u64, usize)> {
    let (mut bytes, mut files) = (0, 0);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                bytes += std::fs::metadata(&path)?.len();
                files += 1;
            }
        }
    }
    Ok((bytes, files))
}

struct Run {
    convert_per_s: f64,
    lake_per_s: f64,
    bytes_per_finding: f64,
    files: usize,
}

async fn run(findings: &[Map<String, Value>]) -> Result<Run> {
    let started = Instant::now();
    let mut converted = 0usize;
    for f in findings {
        converted += usize::from(to_ocsf(f).is_ok());
    }
    let convert_per_s = converted as f64 / started.elapsed().as_secs_f64();

    let dir = tempfile::tempdir()?;
    let mut writer = LakeWriter::new(LakeConfig::default(), ObjectStoreSink::local(dir.path())?);
    writer.recover(0).await?;
    let started = Instant::now();
    for (i, f) in findings.iter().enumerate() {
        writer.append(i as u64 + 1, f)?;
        if writer.due_for_flush(Instant::now()) {
            writer.flush().await?;
        }
    }
    writer.flush().await?;
    let lake_per_s = findings.len() as f64 / started.elapsed().as_secs_f64();
    let (bytes, files) = dir_bytes(dir.path())?;
    Ok(Run { convert_per_s, lake_per_s, bytes_per_finding: bytes as f64 / findings.len() as f64, files })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let now = now_micros();
    let findings: Vec<Map<String, Value>> = (0..args.findings).map(|i| finding(i, now)).collect::<Result<_>>()?;
    let json_bytes: usize = findings.iter().map(|f| Value::Object(f.clone()).to_string().len()).sum();
    let mut runs = Vec::new();
    for r in 0..args.runs.max(1) {
        let run = run(&findings).await?;
        println!(
            "run {}: to_ocsf {:.0}/s; into Parquet {:.0} findings/s, {:.0} bytes per finding, {} files",
            r + 1,
            run.convert_per_s,
            run.lake_per_s,
            run.bytes_per_finding,
            run.files
        );
        runs.push(run);
    }
    let convert = median(runs.iter().map(|r| r.convert_per_s).collect());
    let lake = median(runs.iter().map(|r| r.lake_per_s).collect());
    let bytes = median(runs.iter().map(|r| r.bytes_per_finding).collect());
    let files = runs.last().map_or(0, |r| r.files);

    let mut md = String::new();
    writeln!(md, "# Findings into the Security Lake\n")?;
    writeln!(md, "Written by `findinghub-lake-bench` (crates/bench); do not edit by hand. Command:\n")?;
    writeln!(md, "    cargo build --release -p findinghub-bench")?;
    writeln!(md, "    target/release/findinghub-lake-bench --findings {} --runs {}\n", args.findings, args.runs)?;
    writeln!(
        md,
        "{} synthetic findings ({:.0} bytes of ASFF JSON each on average; a third each Vulnerability, Compliance \
         and Detection findings; 4 accounts, 60 days, so about 720 partitions), already parsed, appended to a \
         `LakeWriter` (OCSF conversion, Arrow, Parquet with ZSTD) over a local directory and flushed, on one \
         thread. Medians of {} runs on a 2-core machine shared with other builds.\n",
        args.findings,
        json_bytes as f64 / findings.len().max(1) as f64,
        args.runs
    )?;
    writeln!(md, "| measure | median |")?;
    writeln!(md, "| --- | ---: |")?;
    writeln!(md, "| ASFF → OCSF (`to_ocsf`) alone | {convert:.0} findings/s |")?;
    writeln!(md, "| into Parquet files on disk (conversion included) | {lake:.0} findings/s |")?;
    writeln!(md, "| on disk | {bytes:.0} bytes per finding ({files} files) |")?;
    std::fs::write(&args.out, md).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
