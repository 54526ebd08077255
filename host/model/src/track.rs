//! Boxes over a sequence: keyframes of one track and the boxes between them.

use crate::{Cuboid, normalize_angle};

/// The box at `t` (0 = `from`, 1 = `to`): centre and size linear, yaw along the shorter arc, pitch and
/// roll likewise. Class, attributes and track come from `from`.
pub fn interpolate_cuboid(from: &Cuboid, to: &Cuboid, t: f64) -> Cuboid {
    let lerp = |a: f64, b: f64| a + (b - a) * t;
    let angle = |a: f64, b: f64| normalize_angle(a + normalize_angle(b - a) * t);
    Cuboid {
        center: [0, 1, 2].map(|i| lerp(from.center[i], to.center[i])),
        size: [0, 1, 2].map(|i| lerp(from.size[i], to.size[i])),
        yaw: angle(from.yaw, to.yaw),
        pitch: angle(from.pitch, to.pitch),
        roll: angle(from.roll, to.roll),
        ..from.clone()
    }
}

/// Boxes for every frame strictly between consecutive keyframes (frame index, box). Keyframes are
/// (frame index, box) in any order; frames that are keyframes themselves are not returned.
pub fn fill_between_keyframes(keyframes: &[(u32, Cuboid)]) -> Vec<(u32, Cuboid)> {
    let mut keys: Vec<&(u32, Cuboid)> = keyframes.iter().collect();
    keys.sort_by_key(|(frame, _)| *frame);
    let mut out = Vec::new();
    for pair in keys.windows(2) {
        let ((a, from), (b, to)) = (pair[0], pair[1]);
        for frame in a + 1..*b {
            let t = f64::from(frame - a) / f64::from(b - a);
            out.push((frame, interpolate_cuboid(from, to, t)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn cuboid(x: f64, yaw: f64, length: f64) -> Cuboid {
        Cuboid {
            center: [x, 2.0, 0.8],
            size: [length, 1.9, 1.6],
            yaw,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: Default::default(),
            track_id: Some(7),
        }
    }

    #[test]
    fn position_and_size_are_linear_and_yaw_takes_the_short_way_round() {
        let a = cuboid(0.0, 3.0, 4.0);
        let b = cuboid(10.0, -3.0, 5.0);
        let mid = interpolate_cuboid(&a, &b, 0.5);
        assert_eq!(mid.center, [5.0, 2.0, 0.8]);
        assert_eq!(mid.size, [4.5, 1.9, 1.6]);
        // 3.0 → -3.0 the short way passes through ±π, not through 0.
        assert!((mid.yaw.abs() - PI).abs() < 1e-12, "{}", mid.yaw);
        assert_eq!(mid.track_id, Some(7));
        assert_eq!(interpolate_cuboid(&a, &b, 0.0), a);
        let end = interpolate_cuboid(&a, &b, 1.0);
        assert!((end.yaw - b.yaw).abs() < 1e-12 && end.center == b.center);
    }

    #[test]
    fn frames_between_keyframes_are_filled_in_order() {
        let filled = fill_between_keyframes(&[(4, cuboid(4.0, 0.4, 4.0)), (0, cuboid(0.0, 0.0, 4.0)), (5, cuboid(9.0, 0.4, 4.0))]);
        let frames: Vec<u32> = filled.iter().map(|(f, _)| *f).collect();
        assert_eq!(frames, [1, 2, 3]);
        assert!((filled[1].1.center[0] - 2.0).abs() < 1e-12);
        assert!((filled[2].1.yaw - 0.3).abs() < 1e-12);
    }
}
