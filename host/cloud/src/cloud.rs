//! The columnar cloud every reader produces.

use cairn_model::CloudFormat;

/// Points as columns. Positions are f32 offsets from an f64 `origin`, so georeferenced coordinates
/// (hundreds of thousands of metres) keep sub-millimetre precision near the origin and the GPU gets
/// small floats. Optional attributes are present only when the file has them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointCloud {
    pub origin: [f64; 3],
    pub positions: Vec<[f32; 3]>,
    pub intensity: Option<Vec<u16>>,
    pub classification: Option<Vec<u8>>,
    pub return_number: Option<Vec<u8>>,
    pub rgb: Option<Vec<[u16; 3]>>,
    pub gps_time: Option<Vec<f64>>,
    /// Index of each point in its file. `None` while no point was dropped (index = position).
    pub source_index: Option<Vec<u32>>,
    /// Points left out because a coordinate was NaN or infinite.
    pub dropped_non_finite: u64,
    pub info: CloudInfo,
}

/// What the file says about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CloudInfo {
    pub format: Option<CloudFormat>,
    /// "1.4" for LAS, "0.7" for PCD.
    pub version: Option<String>,
    /// LAS point data record format, PCD / PLY encoding.
    pub encoding: Option<String>,
    /// Point count the header declares.
    pub declared_points: u64,
    /// Per-point fields in the file, including ones not kept as columns.
    pub fields: Vec<String>,
    /// Coordinate reference system (WKT or a GeoTIFF key summary), when the file has one.
    pub crs: Option<String>,
}

/// An axis-aligned box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Aabb<T> {
    pub min: [T; 3],
    pub max: [T; 3],
}

impl PointCloud {
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// A point in the file's own (possibly georeferenced) coordinates.
    pub fn world(&self, i: usize) -> [f64; 3] {
        let p = self.positions[i];
        [self.origin[0] + p[0] as f64, self.origin[1] + p[1] as f64, self.origin[2] + p[2] as f64]
    }

    /// Turns file coordinates into the cloud's local f32 frame.
    pub fn to_local(&self, world: [f64; 3]) -> [f32; 3] {
        [(world[0] - self.origin[0]) as f32, (world[1] - self.origin[1]) as f32, (world[2] - self.origin[2]) as f32]
    }

    /// Index of point `i` in its file.
    pub fn source_index(&self, i: usize) -> u64 {
        match &self.source_index {
            Some(map) => map[i] as u64,
            None => i as u64,
        }
    }

    /// Bounds of the local positions; `None` for an empty cloud.
    pub fn local_bounds(&self) -> Option<Aabb<f32>> {
        let first = *self.positions.first()?;
        let mut b = Aabb { min: first, max: first };
        for p in &self.positions {
            for (k, &v) in p.iter().enumerate() {
                b.min[k] = b.min[k].min(v);
                b.max[k] = b.max[k].max(v);
            }
        }
        Some(b)
    }

    /// Names of the attribute columns present, for display.
    pub fn columns(&self) -> Vec<&'static str> {
        let mut out = vec!["position"];
        for (present, name) in [
            (self.intensity.is_some(), "intensity"),
            (self.classification.is_some(), "classification"),
            (self.return_number.is_some(), "return_number"),
            (self.rgb.is_some(), "rgb"),
            (self.gps_time.is_some(), "gps_time"),
        ] {
            if present {
                out.push(name);
            }
        }
        out
    }
}

/// The origin for a cloud spanning `min..max` in file coordinates: the centre, rounded to whole
/// metres so that origins are readable and stable across frames of one survey.
pub fn choose_origin(min: [f64; 3], max: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|k| {
        let c = (min[k] + max[k]) / 2.0;
        if c.is_finite() { c.round() } else { 0.0 }
    })
}

/// Columns a reader fills, sized up front so that decoding never reallocates.
#[derive(Default)]
pub struct ColumnsBuilder {
    pub cloud: PointCloud,
    source_index: Vec<u32>,
    any_dropped: bool,
}

/// Which optional columns a reader will fill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ColumnSet {
    pub intensity: bool,
    pub classification: bool,
    pub return_number: bool,
    pub rgb: bool,
    pub gps_time: bool,
}

impl ColumnsBuilder {
    pub fn new(origin: [f64; 3], capacity: usize, columns: ColumnSet) -> Self {
        fn opt<T>(on: bool, capacity: usize) -> Option<Vec<T>> {
            on.then(|| Vec::with_capacity(capacity))
        }
        ColumnsBuilder {
            cloud: PointCloud {
                origin,
                positions: Vec::with_capacity(capacity),
                intensity: opt(columns.intensity, capacity),
                classification: opt(columns.classification, capacity),
                return_number: opt(columns.return_number, capacity),
                rgb: opt(columns.rgb, capacity),
                gps_time: opt(columns.gps_time, capacity),
                ..PointCloud::default()
            },
            source_index: Vec::new(),
            any_dropped: false,
        }
    }

    /// Adds one point given in file coordinates; returns false (and counts it) when a coordinate is
    /// not finite. Attributes are pushed by the caller with `attrs` only for points that were kept.
    #[inline]
    pub fn push_world(&mut self, source: u64, world: [f64; 3]) -> bool {
        if !(world[0].is_finite() && world[1].is_finite() && world[2].is_finite()) {
            self.drop_point();
            return false;
        }
        let o = self.cloud.origin;
        self.push_local(source, [(world[0] - o[0]) as f32, (world[1] - o[1]) as f32, (world[2] - o[2]) as f32]);
        true
    }

    /// Adds one point already in local coordinates (finite).
    #[inline]
    pub fn push_local(&mut self, source: u64, local: [f32; 3]) {
        if self.any_dropped {
            self.source_index.push(source as u32);
        }
        self.cloud.positions.push(local);
    }

    fn drop_point(&mut self) {
        if !self.any_dropped {
            self.any_dropped = true;
            self.source_index = (0..self.cloud.positions.len() as u32).collect();
        }
        self.cloud.dropped_non_finite += 1;
    }

    pub fn finish(mut self) -> PointCloud {
        if self.any_dropped {
            self.cloud.source_index = Some(self.source_index);
        }
        self.cloud
    }
}
