//! `cairn`: the command line of the Cairn annotation tool.

mod bench;
mod cloud_info;
mod demo;
mod exit;
mod export;
mod open;
mod plugins;
mod progress;
mod stats;
mod status;
mod stop;

use anyhow::{Context, Result};
use cairn_import::{Format, ImportOptions};
use cairn_store::Project;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};

/// A project location as it may be printed: a server URL loses its password.
pub(crate) fn shown(project: &Path) -> String {
    cairn_store::redact_url(&project.display().to_string())
}

#[derive(Parser)]
#[command(name = "cairn", version, about = "Annotate LiDAR point clouds and LLM preference data in one tool.")]
#[command(after_help = exit::EXIT_CODES_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the demo project from the bundled data, show what it holds, and open it in the app
    /// (when a display is available).
    Demo {
        /// Where to put the demo project (its scan is written next to it).
        #[arg(long, default_value = "cairn-demo.cairn")]
        project: PathBuf,
        /// Only build the project; do not open the app.
        #[arg(long)]
        no_open: bool,
    },
    /// Open a project in the annotator app: the 3D view of its point-cloud frames (boxes, tracks)
    /// and the comparison view (judging from the queue); Tab switches.
    Open(open::OpenArgs),
    /// Create a new, empty project: a file, or a project in an empty PostgreSQL database.
    Init {
        /// The project to create: a file such as `labels.cairn`, or `postgres://user@host/db`
        /// (the password from PGPASSWORD or ~/.pgpass, as with psql).
        project: PathBuf,
    },
    /// Copy a whole project to a new place, file or server, either way: items, revisions and undo
    /// state, batches, point labels, assignments. The target must not exist (or be an empty database).
    Copy { from: PathBuf, to: PathBuf },
    /// Import comparisons (JSONL), judgments on comparisons already imported (`--format judgments`),
    /// or point clouds (a file, a directory of frames, or of sequences).
    Import {
        project: PathBuf,
        /// Files or directories to import, each in its own transaction.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// jsonl (native), hh-rlhf, trl, judgments, las, laz, pcd, kitti-bin or ply; detected when left
        /// out, except judgments (verdicts and rankings on comparisons already in the project).
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Dataset to import into (default: the file or directory name). With judgments: the dataset
        /// whose comparisons the item keys name (default: all).
        #[arg(long)]
        dataset: Option<String>,
        /// Store the valid records and report each invalid one, instead of refusing the file.
        #[arg(long)]
        skip_invalid: bool,
        /// Float32 fields per point of headerless .bin scans (x y z first): 4 is KITTI's (x y z
        /// reflectance), 5 nuScenes' (x y z intensity ring). Default: 5 for *.pcd.bin, else 4.
        #[arg(long, value_parser = parse_bin_fields)]
        bin_fields: Option<cairn_cloud::BinLayout>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Counts per dataset (labelled / unlabelled) and per annotator.
    Status {
        project: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Export through an exporter plugin (`--with trl-preference --out dir/`), or dump every item
    /// with its current annotations as JSON Lines (the default).
    Export {
        project: PathBuf,
        /// The exporter plugin to run (see `cairn plugin list`): trl-preference, openai-dpo, hh-rlhf,
        /// arena-battles, kitti-label, openlabel, or one of your own.
        #[arg(long = "with", value_name = "PLUGIN")]
        with: Option<String>,
        /// An exporter option, `name=value` (repeatable); `name=@file` passes a file's text.
        #[arg(long = "option", value_name = "NAME=VALUE", requires = "with")]
        options: Vec<String>,
        /// Without --with: `jsonl`, a plain dump of items and annotations.
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"], conflicts_with = "with")]
        format: String,
        /// With --with: the destination directory (files appear only if the export succeeds).
        /// Without: the output file (written whole or not at all); standard output when left out.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Plugins: list them, check a component, scaffold a new one.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Annotation quality: agreement (percent, Cohen's and Fleiss' kappa, Krippendorff's alpha),
    /// gold accuracy, speed, position bias, and a Bradley–Terry leaderboard of the models.
    Stats {
        project: PathBuf,
        /// The reference annotator for gold accuracy, e.g. `import:hh-rlhf`.
        #[arg(long)]
        gold_annotator: Option<String>,
        /// Count imported and model verdicts too (by default only people's).
        #[arg(long)]
        include_sources: bool,
        #[arg(long)]
        json: bool,
    },
    /// Check the project file: SQLite integrity and the current state against the revision log.
    Check { project: PathBuf },
    /// Point-cloud files: `cairn cloud info <file>`.
    Cloud {
        #[command(subcommand)]
        command: CloudCommand,
    },
    /// Throughput figures with baselines measured in the same run (build with --release).
    Bench {
        #[command(subcommand)]
        what: BenchWhat,
    },
}

#[derive(Subcommand)]
enum CloudCommand {
    /// Format, version, point format, count, bounds, fields, CRS and decode speed of a cloud file.
    Info {
        file: PathBuf,
        /// jsonl is not a cloud format; one of las, laz, pcd, kitti-bin, ply (default: from the extension).
        #[arg(long, value_parser = parse_format)]
        format: Option<Format>,
        /// Float32 fields per point of a headerless .bin scan (default: 5 for *.pcd.bin, else 4).
        #[arg(long, value_parser = parse_bin_fields)]
        bin_fields: Option<cairn_cloud::BinLayout>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Every plugin in use: id, kind, version and where it comes from (bundled, user, project).
    List {
        /// Include the plugins beside this project (`cairn-plugins/` next to it).
        #[arg(long)]
        project: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Load a component as the host would, call `describe`, and print what it declares.
    Check {
        /// The component (`.wasm`).
        file: PathBuf,
        /// Its manifest (default: `plugin.toml` beside the component, if any).
        #[arg(long)]
        manifest: Option<PathBuf>,
    },
    /// Create a plugin crate that builds and passes `check` as it is.
    New {
        /// The plugin id and crate name, e.g. `my-exporter`.
        name: String,
        #[arg(long, value_parser = ["exporter", "task"])]
        kind: String,
        /// Where to create the crate directory.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// The plugin SDK (`plugins/sdk` of a Cairn checkout); default: the one this binary was built from.
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchWhat {
    /// A team judging at once (each annotator a process with its own connection) on PostgreSQL
    /// against one SQLite file; `cairn copy` to the server and back; a bulk import into the server.
    Team {
        /// Annotator processes.
        #[arg(long, default_value_t = 50)]
        annotators: u32,
        /// Comparisons they judge.
        #[arg(long, default_value_t = 20_000)]
        comparisons: u64,
        /// Annotators per comparison.
        #[arg(long, default_value_t = 3)]
        overlap: u32,
        /// Comparisons in the project copied to the server and back, and bulk-imported.
        #[arg(long, default_value_t = 1_000_000)]
        copy_records: u64,
        /// The server: a URL whose role may create databases (default: CAIRN_BENCH_POSTGRES, then
        /// CAIRN_TEST_POSTGRES).
        #[arg(long)]
        server: Option<String>,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// One annotator of `bench team` (started by it).
    #[command(hide = true)]
    TeamWorker {
        project: PathBuf,
        #[arg(long)]
        name: String,
        #[arg(long)]
        overlap: u32,
    },
    /// Bulk import, durable edits and streaming reads of the project file.
    Store {
        /// Comparisons to bulk-import and then stream back.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Durable single edits to commit.
        #[arg(long, default_value_t = 2_000)]
        edits: u64,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Importing an HH-RLHF file of real-sized pairs, against a plain script that parses the same
    /// lines and inserts their two strings into SQLite in one transaction (in Rust, and in Python
    /// when python3 is there).
    Import {
        /// Pairs in the generated file (the public release's train and test splits hold 230,700).
        #[arg(long, default_value_t = 230_700)]
        records: u64,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Opening a large project, showing the next item, and computing the quality report.
    Judge {
        /// Comparisons in the project.
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// An export through the trl-preference plugin, the plugin host's compile, load, instantiate
    /// and call costs, and small files written through kitti-label against plain Rust.
    Plugins {
        /// Preference records to export.
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Frames whose KITTI label files (one each) the file-creation figure writes.
        #[arg(long, default_value_t = 100_000)]
        files: u64,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Frame times of the 3D view at point budgets of 1, 5 and 10 M, and the time to the first
    /// picture (needs a display; on a server run it under xvfb-run).
    Render {
        /// The point cloud to draw (default: the demo scan tiled to --points points, as LAZ).
        file: Option<PathBuf>,
        /// Points in the tiled file when no file is given.
        #[arg(long, default_value_t = 10_000_000)]
        points: u64,
        /// Frames measured per budget.
        #[arg(long, default_value_t = 120)]
        frames: u32,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// LAS and LAZ reading, octree building and auto-fit, on the demo scan tiled to many points.
    Cloud {
        /// Points in the tiled file.
        #[arg(long, default_value_t = 10_000_000)]
        points: u64,
        /// Directory for scratch files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    Format::parse(s).ok_or_else(|| format!("unknown format '{s}'; one of: {}", Format::NAMES.join(", ")))
}

fn parse_bin_fields(s: &str) -> Result<cairn_cloud::BinLayout, String> {
    let floats: u8 = s.parse().map_err(|_| format!("'{s}' is not a number of fields"))?;
    cairn_cloud::BinLayout::with_floats(floats)
}

fn main() {
    let cli = Cli::parse();
    if let Err(err) = run(cli) {
        // `cairn export … | head` closing the pipe early is not a failure.
        if exit::is_broken_pipe(&err) {
            std::process::exit(exit::OK);
        }
        eprintln!("error: {err:#}");
        std::process::exit(exit::code_for(&err));
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { project, no_open } => {
            demo::run(&project)?;
            if no_open {
                return Ok(());
            }
            if !open::display_available() {
                println!("No display here, so the app was not opened; on a desktop, run: cairn open {} --view scene", shown(&project));
                return Ok(());
            }
            println!("Opening the 3D view of the demo scan (as demo-user; H lists the keys, Tab switches to the comparisons) …");
            open::run(open::OpenArgs { annotator: Some("demo-user".into()), view: Some(open::ViewArg::Scene), ..open::OpenArgs::new(project) })
        }
        Command::Open(args) => open::run(args),
        Command::Init { project } => {
            let p = Project::create(&project)?;
            println!("created {}", p.path().display());
            Ok(())
        }
        Command::Copy { from, to } => {
            let source = Project::open(&from)?;
            let started = std::time::Instant::now();
            let (target, report) = source.copy_to(&to)?;
            let seconds = started.elapsed().as_secs_f64();
            let tables: Vec<String> = report.tables.iter().map(|(table, rows)| format!("{rows} {table}")).collect();
            println!("copied {} to {}: {}", source.path().display(), target.path().display(), tables.join(", "));
            println!("{} rows in {seconds:.1} s ({:.0} rows/s)", report.rows(), report.rows() as f64 / seconds.max(1e-9));
            Ok(())
        }
        Command::Import { project, paths, format, dataset, skip_invalid, bin_fields, json } => {
            let mut p = Project::open(&project)?;
            let options = ImportOptions { format, dataset, skip_invalid, bin_layout: bin_fields };
            for path in paths {
                let report =
                    progress::with_bar(&format!("importing {}", path.display()), |tick| cairn_import::import_path(&mut p, &path, &options, tick))?;
                if json {
                    println!("{}", serde_json::to_string(&report)?);
                } else {
                    status::print_import(&report);
                }
            }
            Ok(())
        }
        Command::Status { project, json } => {
            let p = Project::open(&project)?;
            let st = p.status()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                status::print_status(&st);
            }
            Ok(())
        }
        Command::Export { project, with: Some(plugin), options, format: _, out } => {
            let out = out.context("--with needs --out <directory>")?;
            plugins::export(&project, &plugin, &options, &out)
        }
        Command::Export { project, with: None, options: _, format: _, out } => {
            let p = Project::open(&project)?;
            export::jsonl(&p, out.as_deref())
        }
        Command::Plugin { command: PluginCommand::List { project, json } } => plugins::list(project.as_deref(), json),
        Command::Plugin { command: PluginCommand::Check { file, manifest } } => plugins::check(&file, manifest.as_deref()),
        Command::Plugin { command: PluginCommand::New { name, kind, dir, sdk } } => {
            let kind = if kind == "task" { cairn_plugin_host::PluginKind::Task } else { cairn_plugin_host::PluginKind::Exporter };
            let dir = plugins::new(&name, kind, &dir, sdk.as_deref())?;
            println!("created {}; build it with: cd {} && cargo build --release --target wasm32-wasip2", dir.display(), dir.display());
            Ok(())
        }
        Command::Stats { project, gold_annotator, include_sources, json } => stats::run(&project, gold_annotator, include_sources, json),
        Command::Check { project } => {
            let p = Project::open(&project)?;
            let integrity = p.integrity_check()?;
            let derived = p.check_derived_state()?;
            let items = p.check_items()?;
            if integrity != ["ok"] || !derived.is_empty() || !items.is_empty() {
                for line in integrity.iter().filter(|l| *l != "ok").chain(&derived).chain(&items) {
                    eprintln!("{line}");
                }
                return Err(exit::Damaged(p.path().display().to_string())).context("the check found problems");
            }
            println!(
                "{}: ok (integrity check passed; every item decodes and matches its content hash; current state matches the revision log)",
                p.path().display()
            );
            Ok(())
        }
        Command::Cloud { command: CloudCommand::Info { file, format, bin_fields, json } } => cloud_info::run(&file, format, bin_fields, json),
        Command::Bench { what: BenchWhat::Store { records, edits, dir } } => bench::store::run(records, edits, dir),
        Command::Bench { what: BenchWhat::Team { annotators, comparisons, overlap, copy_records, server, dir } } => {
            bench::team::run(bench::team::TeamArgs { annotators, comparisons, overlap, copy_records, server, dir })
        }
        Command::Bench { what: BenchWhat::TeamWorker { project, name, overlap } } => bench::team::worker(&project, &name, overlap),
        Command::Bench { what: BenchWhat::Cloud { points, dir } } => bench::cloud::run(points, dir),
        Command::Bench { what: BenchWhat::Import { records, dir } } => bench::import::run(records, dir),
        Command::Bench { what: BenchWhat::Plugins { records, files, dir } } => bench::plugins::run(records, files, dir),
        Command::Bench { what: BenchWhat::Judge { records, dir } } => bench::judge::run(records, dir),
        Command::Bench { what: BenchWhat::Render { file, points, frames, dir } } => bench::render::run(file, points, frames, dir),
    }
}
