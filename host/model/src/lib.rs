//! Cairn's data model: plain data that the store, the plugins and the UI translate into and out of.
//!
//! Nothing here does I/O. Validation helpers are pure functions that return every finding they can,
//! each naming the field it is about.

mod annotation;
mod comparison;
mod hh;
mod ids;
mod item;
mod record;
pub mod rng;
pub mod stats;
mod track;
mod validate;

pub use annotation::*;
pub use comparison::*;
pub use hh::*;
pub use ids::*;
pub use item::*;
pub use record::*;
pub use track::*;
pub use validate::*;
