//! A misbehaving exporter for the host's sandbox tests; never bundled with the app.
//!
//! `--option behaviour=…` picks the misbehaviour. Each one runs as ordinary plugin code and returns or
//! propagates errors normally: the plugin does nothing to help the host, so what stops it must be the
//! host's own limits (fuel or epoch deadline, memory cap, stack limit, output caps, path checks).

use cairn_plugin_sdk::prelude::*;
use std::hint::black_box;

pub struct HostileExporter;

const BEHAVIOURS: [&str; 13] = [
    "ok",
    "loop",
    "memory",
    "recursion",
    "panic",
    "stdout",
    "dotdot",
    "absolute",
    "huge-output",
    "many-files",
    "newline-name",
    "device-name",
    "trailing-dot",
];

const MIB: usize = 1 << 20;

impl Exporter for HostileExporter {
    fn describe() -> ExporterInfo {
        ExporterInfo::new("hostile-exporter", "Hostile exporter", &["cuboid", "verdict", "ranking", "rating", "text"])
            .describe("Sandbox test plugin: misbehaves as the `behaviour` option says.")
            .option(OptionSpec::choice("behaviour", "what to do: behave, or one way of misbehaving", &BEHAVIOURS))
            .option(OptionSpec::text("files", "many-files: how many one-byte files to create, in 100 directories", Some("200000")))
    }

    fn run(options: &Options, records: &mut Records, out: &mut Output) -> Result<Summary, String> {
        match options.value("behaviour") {
            "ok" => ok(records, out),
            "loop" => spin(),
            "memory" => hoard(),
            "recursion" => Ok(Summary { written: dive(0), ..Summary::default() }),
            "panic" => panic!("hostile plugin panicked on purpose"),
            "stdout" => flood_stdout(),
            "dotdot" => write_one(out, "../escape.txt"),
            "absolute" => write_one(out, "/tmp/cairn-escape.txt"),
            "huge-output" => huge_output(out),
            "many-files" => many_files(out, options.number("files")?.unwrap_or(200_000.0) as u64),
            // A good file first: the bad name must fail the whole export, not only itself.
            "newline-name" => write_one(out, "ok.txt").and_then(|_| write_one(out, "labels/bad\nname.txt")),
            "device-name" => write_one(out, "ok.txt").and_then(|_| write_one(out, "labels/aux.txt")),
            "trailing-dot" => write_one(out, "ok.txt").and_then(|_| write_one(out, "notes.")),
            other => Err(format!("option behaviour: unknown value {other:?} ({})", BEHAVIOURS.join(", "))),
        }
    }
}

/// The control case: one line per record key, so a test can tell the plugin itself works.
fn ok(records: &mut Records, out: &mut Output) -> Result<Summary, String> {
    out.create("ok.txt")?;
    let mut summary = Summary::default();
    for record in records {
        writeln!(out, "{}", record?.key).map_err(|e| e.to_string())?;
        summary.written += 1;
    }
    Ok(summary)
}

/// Never returns; black_box keeps the compiler from proving the loop empty and removing it.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Keeps 16 MiB blocks, each filled with a non-zero byte so every page is really touched, until the
/// host's memory cap stops it. Separate blocks (not one growing buffer) mean no copying: memory, not
/// the deadline, is what runs out.
fn hoard() -> ! {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![0xA5; 16 * MIB]);
        black_box(&mut hoard);
    }
}

/// Unbounded recursion. Work after the call (and black_box on a local array) keeps it from becoming
/// a loop; the never-true exit keeps the compiler from calling it unconditional recursion.
fn dive(depth: u64) -> u64 {
    let frame = black_box([depth; 32]);
    if black_box(depth) == u64::MAX {
        return 0;
    }
    dive(black_box(depth + 1)).wrapping_add(frame[depth as usize % 32])
}

/// Writes 10 GiB to stdout in 1 MiB chunks, ignoring errors, then claims success: the host's cap on
/// captured output must hold, without the plugin noticing anything.
fn flood_stdout() -> Result<Summary, String> {
    let chunk = vec![b'x'; MIB];
    let mut stdout = std::io::stdout();
    for _ in 0..10 * 1024 {
        let _ = stdout.write_all(&chunk);
    }
    Ok(Summary::default())
}

/// Creates a file at a path the host must refuse (outside the export directory).
fn write_one(out: &mut Output, path: &str) -> Result<Summary, String> {
    out.create(path)?;
    writeln!(out, "the hostile exporter escaped its output directory").map_err(|e| e.to_string())?;
    out.finish()?;
    Ok(Summary { written: 1, ..Summary::default() })
}

/// `count` one-byte files spread over 100 directories, stopping at the first error the host returns.
/// Only a cap on the number of files stops it: it stays far below the byte cap and keeps talking
/// to the host, so the deadline never runs out.
fn many_files(out: &mut Output, count: u64) -> Result<Summary, String> {
    for i in 0..count {
        out.create(&format!("d{:02}/{i:07}.txt", i % 100))?;
        out.write_all(b"x").map_err(|e| e.to_string())?;
    }
    out.finish()?;
    Ok(Summary { written: count, ..Summary::default() })
}

/// 2 GiB into one file in 1 MiB chunks, stopping at the first error the host returns.
fn huge_output(out: &mut Output) -> Result<Summary, String> {
    out.create("big.bin")?;
    let chunk = vec![0x5Au8; MIB];
    for _ in 0..2 * 1024 {
        out.write_all(&chunk).map_err(|e| e.to_string())?;
    }
    out.finish()?;
    Ok(Summary { written: 1, ..Summary::default() })
}

export_exporter!(HostileExporter);
