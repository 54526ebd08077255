//! The comparison view rendered for real: the app under Xvfb with Mesa's software Vulkan, a comparison
//! with code blocks and a table, and the picture checked (the CI installs both; see `.ci/run`).

use cairn_e2e::*;
use std::process::Command;

/// Runs cairn under its own Xvfb. One at a time: `xvfb-run -a` picks a free display number, and two
/// starting together can pick the same one.
fn under_xvfb(args: &[&str]) -> std::process::Output {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    assert!(
        Command::new("sh").args(["-c", "command -v xvfb-run"]).output().unwrap().status.success(),
        "xvfb-run is needed for this test: apt-get install xvfb mesa-vulkan-drivers libvulkan1 (.ci/run does)"
    );
    Command::new("timeout").args(["300", "xvfb-run", "-a", "-s", "-screen 0 1280x800x24"]).arg(cairn_bin()).args(args).output().unwrap()
}

/// Decodes an RGB(A) PNG into (width, height, rgb pixels).
fn read_png(path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(channels).map(|c| [c[0], c[1], c[2]]).collect();
    (info.width, info.height, pixels)
}

#[test]
fn the_comparison_view_renders_code_blocks_a_table_and_the_verdict_controls() {
    let (dir, project) = new_project();
    // demo-006: SQL in both responses, a table in the second.
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo/comparisons.jsonl")).unwrap();
    let line = demo.lines().find(|l| l.contains("\"id\": \"demo-006\"")).unwrap();
    let input = dir.path().join("one.jsonl");
    std::fs::write(&input, format!("{line}\n")).unwrap();
    expect_code(&cairn(&["import", path_str(&project), path_str(&input)]), 0);

    // Kept where cargo keeps test output, so a failing picture can be looked at.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("compare.png");
    let _ = std::fs::remove_file(&shot);
    let run = under_xvfb(&["open", path_str(&project), "--annotator", "screenshot", "--screenshot", path_str(&shot)]);
    assert!(run.status.success() && shot.is_file(), "stdout:\n{}\nstderr:\n{}", stdout(&run), stderr(&run));

    let (w, h, px) = read_png(&shot);
    assert_eq!((w, h), (1280, 800));
    let at = |x: u32, y: u32| px[(y * w + x) as usize];
    let count = |x0: u32, x1: u32, test: &dyn Fn([u8; 3]) -> bool| {
        (100..h - 30).flat_map(|y| (x0..x1).map(move |x| (x, y))).filter(|&(x, y)| test(at(x, y))).count()
    };
    // Code blocks: the code background fills a block in each response column.
    let code_bg = |c: [u8; 3]| c == [43, 48, 59];
    let (left, right) = (count(0, 505, &code_bg), count(515, 1015, &code_bg));
    assert!(left > 20_000 && right > 20_000, "code block backgrounds: left {left}, right {right} pixels ({})", shot.display());
    // Syntax highlighting: coloured (not grey) text inside the code.
    let coloured = |c: [u8; 3]| c.iter().max().unwrap() - c.iter().min().unwrap() > 50 && c.iter().any(|&v| v > 120);
    let keywords = count(0, 1015, &coloured);
    assert!(keywords > 300, "{keywords} coloured pixels in the code");
    // The table: striped rows, long horizontal runs of the stripe colour in the right column.
    let stripe_rows = (100..h - 30)
        .filter(|&y| {
            let mut run = 0;
            let mut best = 0;
            for x in 515..1015 {
                run = if at(x, y) == [29, 29, 29] { run + 1 } else { 0 };
                best = best.max(run);
            }
            best > 300
        })
        .count();
    assert!(stripe_rows > 20, "{stripe_rows} rows of table stripes");
    // The verdict panel on the right has text in it.
    let panel_text = count(1025, 1280, &|c| c.iter().all(|&v| v > 120));
    assert!(panel_text > 500, "{panel_text} light pixels in the verdict panel");
}

#[test]
fn the_3d_view_draws_the_demo_scan_with_its_boxes_in_class_colours() {
    let dir = tempfile::tempdir().unwrap();
    expect_code(&cairn_in(dir.path(), &["demo", "--no-open"]), 0);
    let project = dir.path().join("cairn-demo.cairn");
    // Kept under the target directory for a look.
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scene.png");
    let _ = std::fs::remove_file(&shot);
    let run = under_xvfb(&["open", path_str(&project), "--annotator", "screenshot", "--view", "scene", "--screenshot", path_str(&shot)]);
    assert!(run.status.success() && shot.is_file(), "stdout:\n{}\nstderr:\n{}", stdout(&run), stderr(&run));
    let (w, h, px) = read_png(&shot);
    assert_eq!((w, h), (1280, 800));
    // The 3D view: below the top bar, above the status line, left of the boxes panel.
    let body: Vec<[u8; 3]> = (30..h - 30).flat_map(|y| (0..960).map(move |x| (x, y))).map(|(x, y)| px[(y * w + x) as usize]).collect();
    let near = |c: &[u8; 3], t: [u8; 3]| c.iter().zip(t).all(|(&a, b)| a.abs_diff(b) <= 16);
    // The cuboid task plugin's colours: car #1F77B4, van #17BECF.
    let car = body.iter().filter(|c| near(c, [0x1F, 0x77, 0xB4])).count();
    let van = body.iter().filter(|c| near(c, [0x17, 0xBE, 0xCF])).count();
    assert!(car > 150 && van > 150, "box edges: {car} car-coloured and {van} van-coloured pixels");
    // Points: coloured pixels that are neither the background, the grey grid nor a box edge.
    let background = [15u8, 15, 20];
    let points = body
        .iter()
        .filter(|c| !near(c, background) && !near(c, [0x1F, 0x77, 0xB4]) && !near(c, [0x17, 0xBE, 0xCF]))
        .filter(|c| c.iter().max().unwrap() - c.iter().min().unwrap() > 40)
        .count();
    assert!(points > 300, "{points} point pixels");
}
