//! Pattern matching over a large build context: `.dockerignore` with many patterns applied while
//! walking 100k files (what every `COPY .` digest and copy does), and `COPY` with many globs.
//! Run: `cargo bench --bench context_patterns`. Sizes: 25k and 100k files, 10 and 200 patterns,
//! so the growth (linear or not) reads off one run; `set` is the matcher in use (all patterns in
//! one `RegexSet`), `each` the reference that tries one pattern after another.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fs;
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use stagecraft::engine::context::SourceTree;
use stagecraft::engine::context::digest::walk_selected;

/// `dirs` directories `dNNN/sub/` of 100 files each: `fNN.txt`, `fNN.log`, `fNN.rs`.
fn make_context(root: &Path, files: usize) {
    for i in 0..files / 100 {
        let dir = root.join(format!("d{i:04}/sub"));
        fs::create_dir_all(&dir).unwrap();
        for j in 0..100 {
            let ext = ["txt", "log", "rs"][j % 3];
            fs::write(dir.join(format!("f{j:02}.{ext}")), b"x").unwrap();
        }
    }
}

/// `n` patterns of the kinds real `.dockerignore` files hold: names, globs, `**`, and a few
/// `!` re-inclusions (which stop the walk from pruning ignored directories).
fn ignore_text(n: usize) -> String {
    let mut out = String::new();
    for k in 0..n {
        let line = match k % 5 {
            0 => format!("d{:04}\n", 9000 + k),
            1 => format!("**/nomatch{k}/*.tmp\n"),
            2 => format!("d00{:02}/sub/f{:02}.log\n", k % 100, k % 100),
            3 => format!("*/sub/x{k}?.bin\n"),
            _ => format!("!d{:04}/keep{k}\n", k),
        };
        out.push_str(&line);
    }
    out.push_str("**/*.log\n");
    out
}

/// The context of `files` files (made once), with a `.dockerignore` of `patterns` patterns.
fn context_tree(root: &Path, files: usize, patterns: usize) -> SourceTree {
    let ctx = root.join(format!("files-{files}"));
    if !ctx.exists() {
        make_context(&ctx, files);
    }
    fs::write(ctx.join(".dockerignore"), ignore_text(patterns)).unwrap();
    SourceTree::context(&ctx, None).unwrap()
}

/// How globs were matched before: each glob walks the tree down to its depth and tests every
/// path (plus the ignore rules) against the whole pattern. Kept here as the reference.
fn walk_reference(tree: &SourceTree, globs: &[String]) -> usize {
    let mut n = 0;
    for glob in globs {
        let re = regex::Regex::new(&format!(
            "^{}$",
            regex::escape(glob).replace(r"\*", "[^/]*")
        ))
        .unwrap();
        let depth = glob.split('/').count();
        for entry in walkdir::WalkDir::new(&tree.root)
            .min_depth(1)
            .max_depth(depth)
            .sort_by_file_name()
        {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(&tree.root).unwrap();
            let name = rel.to_string_lossy();
            if entry.depth() == depth && re.is_match(&name) && !tree.ignore.is_ignored(&name) {
                n += 1;
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("context_patterns");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    // `cargo test --all-targets` (CI) runs each benchmark once without `--bench`: small sizes.
    let sizes: &[usize] = if std::env::args().any(|a| a == "--bench") {
        &[25_000, 100_000]
    } else {
        &[1_000]
    };
    for &files in sizes {
        for patterns in [10, 200] {
            let set = context_tree(tmp.path(), files, patterns);
            let mut each = set.clone();
            each.ignore = set.ignore.one_pattern_at_a_time();
            for (matcher, tree) in [("set", &set), ("each", &each)] {
                let id = format!("{files}files/{patterns}patterns/{matcher}");
                group.bench_function(BenchmarkId::new("walk_copy_dot", &id), |b| {
                    b.iter(|| {
                        let sel = tree.select(&[".".to_string()]).unwrap();
                        black_box(walk_selected(tree, &sel[0]).unwrap().len())
                    })
                });
                if files == sizes[sizes.len() - 1] && patterns == 200 {
                    let globs: Vec<String> = (0..50)
                        .map(|k| format!("d{:04}/sub/*.rs", k * 7 % (files / 100)))
                        .collect();
                    group.bench_function(BenchmarkId::new("select_50_globs", &id), |b| {
                        b.iter(|| black_box(tree.select(&globs).unwrap().len()))
                    });
                    if matcher == "set" {
                        let rid = format!("{files}files/{patterns}patterns/walk_reference");
                        group.bench_function(BenchmarkId::new("select_50_globs", &rid), |b| {
                            b.iter(|| black_box(walk_reference(tree, &globs)))
                        });
                    }
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
