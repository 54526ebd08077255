use cairn_import::ImportReport;
use cairn_model::Modality;
use cairn_store::ProjectStatus;

pub fn print_import(r: &ImportReport) {
    println!(
        "{}: {} records ({}) into dataset '{}': {} added, {} already present, {} source labels kept",
        r.path.display(),
        r.records,
        r.format,
        r.dataset,
        r.added,
        r.already_present,
        r.source_labels
    );
    for s in &r.skipped {
        println!("  skipped {}: {}", s.location, s.reason);
    }
    if !r.skipped.is_empty() {
        println!("  {} skipped in all", r.skipped.len());
    }
}

pub fn print_status(st: &ProjectStatus) {
    println!("project '{}' (schema {})", st.project.name, st.project.schema_version);
    if st.datasets.is_empty() {
        println!("  no datasets yet: add data with `cairn import`");
    }
    for d in &st.datasets {
        let kind = match d.modality {
            Modality::PointCloud => "point-cloud frames",
            Modality::Comparison => "comparisons",
        };
        println!(
            "  dataset '{}': {} {kind}, {} labelled, {} unlabelled, {} with source labels",
            d.name, d.items, d.labelled, d.unlabelled, d.with_source_labels
        );
    }
    if !st.annotators.is_empty() {
        println!("  annotators:");
        for a in &st.annotators {
            println!(
                "    {} ({}): {} annotations, {} revisions, {:.1} min active",
                a.name,
                a.kind.as_str(),
                a.annotations,
                a.revisions,
                a.active_ms as f64 / 60_000.0
            );
        }
    }
}
