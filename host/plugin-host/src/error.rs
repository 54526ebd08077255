use std::fmt;

/// Why a plugin call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The manifest or component was refused before running (bad manifest, forbidden import, …).
    Refused,
    /// Ran past its time without progress.
    Timeout,
    /// Asked for more memory than its cap.
    OutOfMemory,
    /// Recursed past its stack limit.
    StackOverflow,
    /// Panicked (the guest hit `unreachable`).
    Panic,
    /// Any other trap.
    Trap,
    /// Returned something the host does not accept (bad path, NaN size, unknown class, …).
    InvalidResult,
    /// Went over an output cap.
    OutputCap,
    /// Returned an error of its own.
    Plugin,
    /// Disabled after failing repeatedly.
    Disabled,
    /// The host could not do its part (disk full, project unreadable).
    Host,
}

impl Failure {
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Refused => "refused",
            Failure::Timeout => "timed out",
            Failure::OutOfMemory => "out of memory",
            Failure::StackOverflow => "stack overflow",
            Failure::Panic => "panicked",
            Failure::Trap => "trapped",
            Failure::InvalidResult => "invalid result",
            Failure::OutputCap => "output cap",
            Failure::Plugin => "failed",
            Failure::Disabled => "disabled",
            Failure::Host => "host error",
        }
    }

    /// Failures that poison the instance (a trap leaves it unusable) and count towards disabling.
    pub fn is_crash(self) -> bool {
        matches!(self, Failure::Timeout | Failure::OutOfMemory | Failure::StackOverflow | Failure::Panic | Failure::Trap)
    }
}

/// A failed plugin call: which plugin, which call, what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginError {
    pub plugin: String,
    pub call: String,
    pub failure: Failure,
    pub message: String,
}

impl PluginError {
    pub fn new(plugin: &str, call: &str, failure: Failure, message: impl Into<String>) -> Self {
        PluginError { plugin: plugin.to_string(), call: call.to_string(), failure, message: message.into() }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plugin {} ({}): {}: {}", self.plugin, self.call, self.failure.as_str(), self.message)
    }
}

impl std::error::Error for PluginError {}
