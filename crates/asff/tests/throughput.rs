//! Validation speed over the sample findings, repeated. Run in release:
//! `cargo test --release -p findinghub-asff --test throughput -- --ignored --nocapture`

use std::path::Path;
use std::time::Instant;

use findinghub_asff::validate_finding;
use serde_json::Value;

fn samples() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/asff")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("samples dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "json") {
                out.push(std::fs::read_to_string(&p).expect("sample"));
            }
        }
    }
    out.sort();
    out
}

#[test]
#[ignore = "measurement; run in release with --ignored --nocapture"]
fn findings_per_second() {
    let texts = samples();
    let docs: Vec<Value> = texts.iter().map(|t| serde_json::from_str(t).expect("json")).collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    const ROUNDS: usize = 20_000;
    let n = docs.len() * ROUNDS;

    // Validation alone, one core.
    let start = Instant::now();
    let mut ok = 0usize;
    for _ in 0..ROUNDS {
        for d in &docs {
            ok += usize::from(validate_finding(std::hint::black_box(d)).is_ok());
        }
    }
    let validate = start.elapsed();
    assert_eq!(ok, n);

    // Parse + validate, one core.
    let start = Instant::now();
    for _ in 0..ROUNDS / 10 {
        for t in &texts {
            let v: Value = serde_json::from_str(std::hint::black_box(t)).expect("json");
            assert!(validate_finding(&v).is_ok());
        }
    }
    let parse_validate = start.elapsed();
    let n_pv = docs.len() * (ROUNDS / 10);

    // Validation alone, two threads.
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..ROUNDS / 2 {
                    for d in &docs {
                        assert!(validate_finding(std::hint::black_box(d)).is_ok());
                    }
                }
            });
        }
    });
    let two = start.elapsed();

    println!("{} sample findings, {:.1} KB average", docs.len(), bytes as f64 / docs.len() as f64 / 1024.0);
    println!(
        "validate only, 1 thread: {:.0} findings/s ({:.2} µs each)",
        n as f64 / validate.as_secs_f64(),
        validate.as_secs_f64() * 1e6 / n as f64
    );
    println!("parse + validate, 1 thread: {:.0} findings/s", n_pv as f64 / parse_validate.as_secs_f64());
    println!("validate only, 2 threads: {:.0} findings/s", n as f64 / two.as_secs_f64());
}
