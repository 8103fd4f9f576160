//! `findinghub-lake-bench`: findings into the Security Lake, as the outbox's lake target feeds it:
//! parsed findings (the benchmark's synthetic ones of about 2 kB, a third each made Vulnerability,
//! Compliance and Detection findings) appended to a `LakeWriter` over a local directory in batches
//! of 2,000 (`append_many`, as the target reads its deliveries), and flushed; ASFF → OCSF → Arrow →
//! ZSTD Parquet files on disk. Two streams: live changes (updated today: the partitions of four
//! accounts and one day) and a backfill (the pool's UpdatedAt spread over many days, hundreds of
//! partitions). Prints findings/s and the bytes each finding takes on disk (medians of several
//! runs), and writes them to a file.
//!
//! ```text
//! cargo build --release -p findinghub-bench
//! target/release/findinghub-lake-bench --findings 200000 --runs 3 --out BENCHMARKS-lake.md
//! ```

use anyhow::{Context, Result};
use clap::Parser;
use findinghub_asff::timestamp::{MICROS_PER_DAY, format_timestamp, now_micros};
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
    /// Run only the live stream (for profiling it); no file is written.
    #[arg(long)]
    live_only: bool,
}

/// The i-th synthetic finding, parsed, made one of the three classes; with `live`, updated today
/// (between midnight and noon UTC).
fn finding(i: u64, now: i64, live: bool) -> Result<Map<String, Value>> {
    let mut f: Map<String, Value> = serde_json::from_str(&finding_json(i, now)).context("a synthetic finding")?;
    if live {
        let midnight = now - now.rem_euclid(MICROS_PER_DAY);
        let updated = midnight + (i as i64 * 1_000_000) % (MICROS_PER_DAY / 2);
        f.insert("UpdatedAt".into(), json!(format_timestamp(updated)));
    }
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

/// Findings per `append_many`, as the lake target reads its deliveries.
const BATCH: usize = 2000;

struct Run {
    per_s: f64,
    bytes_per_finding: f64,
    files: usize,
    /// CPU time over wall time: how many cores the run kept busy on average.
    cores_busy: f64,
}

fn convert_per_s(findings: &[Map<String, Value>]) -> f64 {
    let started = Instant::now();
    let converted = findings.iter().filter(|f| to_ocsf(f).is_ok()).count();
    converted as f64 / started.elapsed().as_secs_f64()
}

/// CPU seconds this process has used (user and system), from /proc (Linux); 0 elsewhere.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command name (which is in parentheses and may hold spaces).
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name and state.
    (ticks(11) + ticks(12)) / 100.0
}

async fn run(findings: &[Map<String, Value>]) -> Result<Run> {
    let dir = tempfile::tempdir()?;
    let mut writer = LakeWriter::new(LakeConfig::default(), ObjectStoreSink::local(dir.path())?);
    writer.recover(0).await?;
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let mut seq = 0u64;
    for chunk in findings.chunks(BATCH) {
        let items: Vec<(u64, Vec<&Map<String, Value>>)> = chunk
            .iter()
            .map(|f| {
                seq += 1;
                (seq, vec![f])
            })
            .collect();
        let refused = writer.append_many(&items)?;
        anyhow::ensure!(refused.is_empty(), "findings refused: {:?}", refused.first());
        if writer.due_for_flush(Instant::now()) {
            writer.flush().await?;
        }
    }
    writer.flush().await?;
    let wall = started.elapsed().as_secs_f64();
    let per_s = findings.len() as f64 / wall;
    let cores_busy = (cpu_seconds() - cpu_before) / wall;
    let (bytes, files) = dir_bytes(dir.path())?;
    Ok(Run { per_s, bytes_per_finding: bytes as f64 / findings.len() as f64, files, cores_busy })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Medians of `runs` runs: (findings/s, bytes per finding, files, cores busy).
async fn measure(name: &str, findings: &[Map<String, Value>], runs: usize) -> Result<(f64, f64, usize, f64)> {
    let mut all = Vec::new();
    for r in 0..runs.max(1) {
        let run = run(findings).await?;
        println!(
            "{name} run {}: {:.0} findings/s into Parquet, {:.0} bytes per finding, {} files, {:.2} cores busy",
            r + 1,
            run.per_s,
            run.bytes_per_finding,
            run.files,
            run.cores_busy
        );
        all.push(run);
    }
    Ok((
        median(all.iter().map(|r| r.per_s).collect()),
        median(all.iter().map(|r| r.bytes_per_finding).collect()),
        all.last().map_or(0, |r| r.files),
        median(all.iter().map(|r| r.cores_busy).collect()),
    ))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let now = now_micros();
    let live: Vec<Map<String, Value>> = (0..args.findings).map(|i| finding(i, now, true)).collect::<Result<_>>()?;
    let json_bytes: usize = live.iter().map(|f| Value::Object(f.clone()).to_string().len()).sum();
    let convert = median((0..args.runs.max(1)).map(|_| convert_per_s(&live)).collect());
    println!("to_ocsf alone, one thread: {convert:.0} findings/s");
    let (live_per_s, live_bytes, live_files, live_busy) = measure("live", &live, args.runs).await?;
    if args.live_only {
        return Ok(());
    }
    let backfill: Vec<Map<String, Value>> =
        (0..args.findings).map(|i| finding(i, now, false)).collect::<Result<_>>()?;
    let (back_per_s, back_bytes, back_files, back_busy) = measure("backfill", &backfill, args.runs).await?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut md = String::new();
    writeln!(md, "# Findings into the Security Lake\n")?;
    writeln!(md, "Written by `findinghub-lake-bench` (crates/bench); do not edit by hand. Command:\n")?;
    writeln!(md, "    cargo build --release -p findinghub-bench")?;
    writeln!(md, "    target/release/findinghub-lake-bench --findings {} --runs {}\n", args.findings, args.runs)?;
    writeln!(
        md,
        "{} synthetic findings ({:.0} bytes of ASFF JSON each on average; a third each Vulnerability, Compliance \
         and Detection findings; 4 accounts), already parsed (as the outbox hands them over), appended to a \
         `LakeWriter` over a local directory in batches of {BATCH} (`append_many`: the OCSF conversion and the \
         encoding run on every core, {cores} here) and flushed: ASFF → OCSF 1.1.0 → Arrow → ZSTD Parquet files on \
         disk, in Security Lake's layout. *Live*: changes updated today, so 12 partitions (4 accounts × 1 day × 3 \
         classes), as the lake target gets them. *Backfill*: UpdatedAt spread over hundreds of days (as `lake \
         export` of an old store), so thousands of partitions and small files. Medians of {} runs on a {cores}-core \
         machine shared with other builds (their load was not controlled).\n",
        args.findings,
        json_bytes as f64 / live.len().max(1) as f64,
        args.runs
    )?;
    writeln!(md, "| measure | median |")?;
    writeln!(md, "| --- | ---: |")?;
    writeln!(md, "| ASFF → OCSF (`to_ocsf`) alone, one thread | {convert:.0} findings/s |")?;
    writeln!(md, "| live: into Parquet files on disk (conversion included) | {live_per_s:.0} findings/s |")?;
    writeln!(md, "| live: cores kept busy (CPU time / wall time) | {live_busy:.2} of {cores} |")?;
    writeln!(md, "| live: on disk | {live_bytes:.0} bytes per finding ({live_files} files) |")?;
    writeln!(md, "| backfill: into Parquet files on disk (conversion included) | {back_per_s:.0} findings/s |")?;
    writeln!(md, "| backfill: cores kept busy | {back_busy:.2} of {cores} |")?;
    writeln!(md, "| backfill: on disk | {back_bytes:.0} bytes per finding ({back_files} files) |")?;
    std::fs::write(&args.out, md).with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {}", args.out.display());
    Ok(())
}
