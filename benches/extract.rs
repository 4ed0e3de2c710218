//! Parse + classify + extract (+ score) throughput on the fixture corpus: every `.eml` under
//! `tests/fixtures` (real mail from public sources and synthetic invitations, LinkedIn and
//! not). One iteration reads the whole corpus, single-threaded, from memory, so Criterion's
//! throughput is MB/s; `bench/run.sh` turns the estimate into messages/s and prints it next
//! to `bench/python_extract.py` (Python `email` + regexes on the same files).
//!
//! Run: `cargo bench --bench extract` (results in `target/criterion/corpus/*`). Two
//! developer modes, chosen by environment variable, print and exit instead:
//! `EXTRACT_PER_FILE=1` (time per message) and `EXTRACT_PASSES=N` (for callgrind).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use invite_digest::config::Config;
use invite_digest::{extract, score};

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            eml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

/// The corpus, sorted by path so every run reads the same bytes in the same order.
fn corpus() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths = Vec::new();
    eml_files(&root, &mut paths);
    paths.sort();
    assert!(!paths.is_empty(), "no .eml files under {}", root.display());
    paths
        .iter()
        .map(|p| std::fs::read(p).expect("read fixture"))
        .collect()
}

/// `EXTRACT_PASSES=N`: N passes over the corpus and nothing else, to count instructions
/// under `valgrind --tool=callgrind` (subtract N=1 from N=6 to leave out one-time set-up).
/// Instruction counts do not move with the load of a shared machine as times do, so they
/// judge a small change where Criterion cannot.
fn passes(files: &[Vec<u8>], n: usize, opts: &extract::Options, rules: score::Rules) {
    for _ in 0..n {
        for raw in files {
            if let Ok(c) = extract::classify(black_box(raw), opts) {
                black_box(score::judge(&c, rules));
            }
        }
    }
}

/// `EXTRACT_PER_FILE=1`: microseconds per message, dearest first, with its kind: shows which
/// layouts the time goes to.
fn per_file(opts: &extract::Options, rules: score::Rules) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut paths = Vec::new();
    eml_files(&root, &mut paths);
    paths.sort();
    let mut rows = Vec::new();
    for p in &paths {
        let raw = std::fs::read(p).expect("read fixture");
        let n = 300;
        let t = std::time::Instant::now();
        for _ in 0..n {
            if let Ok(c) = extract::classify(black_box(&raw), opts) {
                black_box(score::judge(&c, rules));
            }
        }
        let us = t.elapsed().as_secs_f64() * 1e6 / f64::from(n);
        let kind = extract::classify(&raw, opts)
            .map(|c| format!("{:?}", c.kind))
            .unwrap_or_else(|e| e.to_string());
        let name = p.strip_prefix(&root).unwrap_or(p).display().to_string();
        rows.push((us, raw.len(), name, kind));
    }
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = rows.iter().map(|r| r.0).sum();
    for (us, len, name, kind) in &rows {
        let share = 100.0 * us / total;
        eprintln!("{us:8.1} us {len:7} B {share:5.1}% {kind:13} {name}");
    }
    eprintln!("total {total:.0} us for {} messages", rows.len());
}

fn bench(c: &mut Criterion) {
    let files = corpus();
    let bytes: u64 = files.iter().map(|f| f.len() as u64).sum();
    eprintln!("corpus: {} messages, {bytes} bytes", files.len());
    let cfg = Config::from_str("", None).expect("the empty config is valid");
    let opts = extract::Options::default();
    let rules = score::Rules {
        scoring: &cfg.scoring,
        filters: &cfg.filters,
        cues: &cfg.notes,
    };

    if let Ok(n) = std::env::var("EXTRACT_PASSES") {
        passes(
            &files,
            n.parse().expect("EXTRACT_PASSES is a count"),
            &opts,
            rules,
        );
        std::process::exit(0);
    }
    if std::env::var_os("EXTRACT_PER_FILE").is_some() {
        per_file(&opts, rules);
        std::process::exit(0);
    }
    let mut g = c.benchmark_group("corpus");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("classify_extract_score", |b| {
        b.iter(|| {
            for raw in &files {
                if let Ok(c) = extract::classify(black_box(raw), &opts) {
                    black_box(score::judge(&c, rules));
                }
            }
        })
    });
    g.bench_function("classify_extract", |b| {
        b.iter(|| {
            for raw in &files {
                let _ = black_box(extract::classify(black_box(raw), &opts));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
