use indicatif::{ProgressBar, ProgressStyle};

/// Runs `work` with a progress bar on standard error (drawn only on a terminal). `work` reports
/// (done, total) through the callback it is given.
pub fn with_bar<T>(label: &str, work: impl FnOnce(&mut dyn FnMut(u64, u64)) -> T) -> T {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {percent:>3}% {elapsed_precise} eta {eta}")
            .expect("the template is valid")
            .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    let out = work(&mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    out
}

/// Runs `work` with a spinner on standard error (drawn only on a terminal).
pub fn with_spinner<T>(label: &str, work: impl FnOnce() -> T) -> T {
    let spinner = ProgressBar::new_spinner();
    spinner.set_message(label.to_owned());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = work();
    spinner.finish_and_clear();
    out
}
