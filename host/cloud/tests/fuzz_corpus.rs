//! Every input the fuzzers kept (fuzz/corpus) goes through its reader on each test run: a cloud or
//! an error, never a panic.

use cairn_model::CloudFormat;

#[test]
fn the_fuzz_corpus_reads_without_panicking() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut read = 0;
    for (target, format) in [("las", CloudFormat::Las), ("pcd", CloudFormat::Pcd), ("ply", CloudFormat::Ply), ("kitti", CloudFormat::KittiBin)] {
        let dir = root.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        assert!(!files.is_empty(), "{} holds no inputs", dir.display());
        for file in files {
            let bytes = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| cairn_cloud::read_bytes(&bytes, format));
            assert!(outcome.is_ok(), "{} panicked", file.display());
            read += 1;
        }
    }
    eprintln!("{read} corpus inputs read");
}
