//! Parse + classify + extract (+ score) throughput on the fixture corpus: every `.eml` under
//! `tests/fixtures` (real mail from public sources and synthetic invitations, LinkedIn and
//! not). One iteration reads the whole corpus, single-threaded, from memory, so Criterion's
//! throughput is MB/s; `bench/run.sh` turns the estimate into messages/s and prints it next
//! to `bench/python_extract.py` (Python `email` + regexes on the same files).
//!
//! Run: `cargo bench --bench extract` (results in `target/criterion/corpus/*`).

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
