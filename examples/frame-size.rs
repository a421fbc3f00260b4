//! Where the EventFrame's memory goes: each column's size, the total, and the peak RSS.
//!
//!   cargo run --release --example frame-size -- CORPUS_DIR

use std::path::PathBuf;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: frame-size CORPUS_DIR");
        std::process::exit(2);
    };
    let t = Instant::now();
    let frame = trailaudit::events::load(&[dir]);
    let secs = t.elapsed().as_secs_f64();
    let mut total = 0usize;
    let mut rows: Vec<(String, usize, usize)> = frame
        .df
        .columns()
        .iter()
        .map(|c| {
            let bytes = c.as_materialized_series().estimated_size();
            total += bytes;
            (
                c.name().to_string(),
                bytes,
                c.as_materialized_series().n_chunks(),
            )
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    for (name, bytes, chunks) in &rows {
        println!(
            "{:>10.1} MB  {:>5} chunks  {name}",
            *bytes as f64 / 1e6,
            chunks
        );
    }
    println!(
        "{} rows in {secs:.2} s; columns {:.1} MB; peak RSS {:.1} MB",
        frame.events(),
        total as f64 / 1e6,
        peak_rss_mb()
    );
}
