use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A dataset inside one project.
    DatasetId
);
id_type!(
    /// An item (a point-cloud frame or a comparison); ids grow in import order.
    ItemId
);
id_type!(
    /// One annotation; its current payload is derived from the revision log.
    AnnotationId
);
id_type!(
    /// A person, or a source such as `import:hh-rlhf`, that authors annotations.
    AnnotatorId
);
id_type!(
    /// One entry of the append-only revision log.
    RevisionId
);
id_type!(
    /// An item handed to one annotator, with the order its responses were shown in.
    AssignmentId
);
