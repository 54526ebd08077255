//! PCD (Point Cloud Library) reader: `DATA ascii`, `binary` (row-major records) and
//! `binary_compressed` (LZF, column-major), decoded straight into columns.
//!
//! The second half of this file is the column decoding the PLY reader shares: value kinds, records
//! of a fixed layout, token roles for ascii, and the two-pass build (finite bounds for the origin,
//! then the columns).

use crate::{CloudInfo, ColumnSet, ColumnsBuilder, PointCloud, choose_origin};
use cairn_model::CloudFormat;

/// Reads a whole PCD file held in memory.
pub fn read(bytes: &[u8]) -> Result<PointCloud, String> {
    let header = parse_header(bytes)?;
    let fields = &header.fields;
    let n_declared = header.points;
    let data = bytes.get(header.data_start..).unwrap_or(&[]);

    // The fields kept as columns.
    let find = |names: &[&str]| fields.iter().enumerate().find(|(_, f)| names.iter().any(|n| f.name.eq_ignore_ascii_case(n)));
    let coord = |axis: &str| -> Result<(usize, Kind), String> {
        let (i, f) = find(&[axis]).ok_or_else(|| {
            let all: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            format!("PCD header: no `{axis}` field (FIELDS is `{}`)", all.join(" "))
        })?;
        let kind =
            f.kind().ok_or_else(|| format!("PCD header: field `{axis}` has TYPE {} with SIZE {}, which cannot be read", f.ty as char, f.size))?;
        Ok((i, kind))
    };
    let xyz = [coord("x")?, coord("y")?, coord("z")?];
    let intensity = find(&["intensity"]).and_then(|(i, f)| Some((i, f.kind()?)));
    let class = find(&["label", "classification"]).and_then(|(i, f)| Some((i, f.kind()?)));
    let rgb = find(&["rgb", "rgba"]).and_then(|(i, f)| Some((i, f.kind().filter(|k| k.size() == 4)?)));

    let info = CloudInfo {
        format: Some(CloudFormat::Pcd),
        version: header.version.clone(),
        encoding: Some(header.data.name().to_owned()),
        declared_points: n_declared,
        fields: fields.iter().map(|f| f.name.clone()).collect(),
        crs: None,
    };
    let columns = ColumnSet { intensity: intensity.is_some(), classification: class.is_some(), rgb: rgb.is_some(), ..ColumnSet::default() };
    let float_intensity = intensity.is_some_and(|(_, k)| k.is_float());

    match header.data {
        Encoding::Ascii => {
            // Token index (within a line) of the first value of each field.
            let mut first_token = Vec::with_capacity(fields.len());
            let mut total = 0u64;
            for f in fields {
                first_token.push(total);
                total = total.checked_add(f.count as u64).ok_or("PCD header: the COUNT values add up to too many values per point")?;
            }
            let mut roles = Vec::new();
            for (i, &t) in first_token.iter().enumerate() {
                let role = if i == xyz[0].0 {
                    Role::X
                } else if i == xyz[1].0 {
                    Role::Y
                } else if i == xyz[2].0 {
                    Role::Z
                } else if intensity.is_some_and(|(j, _)| j == i) {
                    Role::Intensity
                } else if class.is_some_and(|(j, _)| j == i) {
                    Role::Class
                } else if let Some((_, k)) = rgb.filter(|&(j, _)| j == i) {
                    Role::Packed(k)
                } else {
                    continue;
                };
                roles.push((t, role));
            }
            let source = AsciiPcd { data, first_line: header.data_line, n: n_declared, values_per_line: total, roles };
            let capacity = capped(n_declared, data.len() / 6 + 1);
            build(&source, Plan { columns, float_intensity, capacity, info })
        }
        Encoding::Binary | Encoding::BinaryCompressed => {
            let record = header.record_size;
            let need = n_declared.checked_mul(record as u64);
            let decompressed;
            let (body, column_major) = if header.data == Encoding::Binary {
                match need {
                    Some(need) if need <= data.len() as u64 => {}
                    _ => {
                        return Err(format!("the header claims {n_declared} points of {record} bytes but only {} bytes follow", data.len()));
                    }
                }
                (data, false)
            } else {
                decompressed = read_compressed(data, n_declared, record)?;
                (decompressed.as_slice(), true)
            };
            let n = check_point_count(n_declared)?;
            let col = |(i, kind): (usize, Kind)| -> Result<Col, String> {
                let offset = header.offsets.get(i).copied().unwrap_or(0);
                if column_major {
                    let width = fields.get(i).map_or(0, |f| f.size.saturating_mul(f.count));
                    let base = offset.checked_mul(n).ok_or("PCD: the data layout overflows")?;
                    Ok(Col { kind, base, stride: width })
                } else {
                    Ok(Col { kind, base: offset, stride: record })
                }
            };
            let source = Fixed {
                data: body,
                n,
                be: false,
                xyz: [col(xyz[0])?, col(xyz[1])?, col(xyz[2])?],
                intensity: intensity.map(col).transpose()?,
                class: class.map(col).transpose()?,
                rgb: match rgb {
                    Some(c) => Rgb::Packed(col(c)?),
                    None => Rgb::None,
                },
            };
            build_fixed(&source, Plan { columns, float_intensity, capacity: n, info })
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Ascii,
    Binary,
    BinaryCompressed,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::Binary => "binary",
            Encoding::BinaryCompressed => "binary_compressed",
        }
    }
}

struct Field {
    name: String,
    size: usize,
    /// b'I', b'U' or b'F'.
    ty: u8,
    count: usize,
}

impl Field {
    fn kind(&self) -> Option<Kind> {
        Some(match (self.ty, self.size) {
            (b'I', 1) => Kind::I8,
            (b'I', 2) => Kind::I16,
            (b'I', 4) => Kind::I32,
            (b'I', 8) => Kind::I64,
            (b'U', 1) => Kind::U8,
            (b'U', 2) => Kind::U16,
            (b'U', 4) => Kind::U32,
            (b'U', 8) => Kind::U64,
            (b'F', 4) => Kind::F32,
            (b'F', 8) => Kind::F64,
            _ => return None,
        })
    }
}

struct Header {
    version: Option<String>,
    fields: Vec<Field>,
    /// Byte offset of each field within a record.
    offsets: Vec<usize>,
    record_size: usize,
    points: u64,
    data: Encoding,
    /// Where the data starts in the file, and its line number (for ascii messages).
    data_start: usize,
    data_line: u64,
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    let mut names: Option<Vec<String>> = None;
    let mut sizes: Option<Vec<usize>> = None;
    let mut types: Option<Vec<u8>> = None;
    let mut counts: Option<Vec<usize>> = None;
    let (mut width, mut height, mut points, mut version) = (None, None, None, None);
    let mut pos = 0;
    let mut line_no = 0u64;
    let data = loop {
        let Some((line, next)) = line_at(bytes, pos) else {
            return Err("PCD header: no DATA line (is this a PCD file?)".into());
        };
        pos = next;
        line_no += 1;
        let text = std::str::from_utf8(line).map_err(|_| format!("PCD header line {line_no} is not text (is this a PCD file?)"))?;
        let text = text.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let mut toks = text.split_ascii_whitespace();
        let key = toks.next().unwrap_or_default().to_ascii_uppercase();
        let whole = |what: &str, t: &str| -> Result<u64, String> {
            t.parse::<u64>().map_err(|_| format!("PCD header line {line_no}: {what} value `{}` is not a whole number", shown(t)))
        };
        let single = |what: &str, toks: &mut std::str::SplitAsciiWhitespace| -> Result<u64, String> {
            let t = toks.next().ok_or_else(|| format!("PCD header line {line_no}: {what} has no value"))?;
            whole(what, t)
        };
        match key.as_str() {
            "VERSION" => version = Some(toks.collect::<Vec<_>>().join(" ")),
            "FIELDS" | "COLUMNS" => names = Some(toks.map(str::to_owned).collect()),
            "SIZE" => {
                let v = toks.map(|t| {
                    whole("SIZE", t).and_then(|s| usize::try_from(s).map_err(|_| format!("PCD header line {line_no}: SIZE {s} is too large")))
                });
                sizes = Some(v.collect::<Result<_, _>>()?);
            }
            "COUNT" => {
                let v = toks.map(|t| {
                    whole("COUNT", t).and_then(|s| usize::try_from(s).map_err(|_| format!("PCD header line {line_no}: COUNT {s} is too large")))
                });
                counts = Some(v.collect::<Result<_, _>>()?);
            }
            "TYPE" => {
                let v = toks.map(|t| match t {
                    "I" | "U" | "F" | "i" | "u" | "f" => Ok(t.as_bytes().first().copied().unwrap_or(b'F').to_ascii_uppercase()),
                    _ => Err(format!("PCD header line {line_no}: TYPE `{}` is not I, U or F", shown(t))),
                });
                types = Some(v.collect::<Result<_, _>>()?);
            }
            "WIDTH" => width = Some(single("WIDTH", &mut toks)?),
            "HEIGHT" => height = Some(single("HEIGHT", &mut toks)?),
            "POINTS" => points = Some(single("POINTS", &mut toks)?),
            "VIEWPOINT" => {}
            "DATA" => {
                let kind = toks.next().unwrap_or_default();
                break match kind.to_ascii_lowercase().as_str() {
                    "ascii" => Encoding::Ascii,
                    "binary" => Encoding::Binary,
                    "binary_compressed" => Encoding::BinaryCompressed,
                    _ => return Err(format!("PCD header line {line_no}: DATA `{}` is not ascii, binary or binary_compressed", shown(kind))),
                };
            }
            _ => return Err(format!("PCD header line {line_no}: unknown keyword `{}` (is this a PCD file?)", shown(&key))),
        }
    };

    let names = names.ok_or("PCD header: no FIELDS line")?;
    let sizes = sizes.ok_or("PCD header: no SIZE line")?;
    let types = types.ok_or("PCD header: no TYPE line")?;
    let counts = counts.unwrap_or_else(|| vec![1; names.len()]);
    for (what, len) in [("SIZE", sizes.len()), ("TYPE", types.len()), ("COUNT", counts.len())] {
        if len != names.len() {
            return Err(format!("PCD header: {what} has {len} entries but FIELDS has {}", names.len()));
        }
    }
    let mut fields = Vec::with_capacity(names.len());
    let mut offsets = Vec::with_capacity(names.len());
    let mut record_size = 0usize;
    for (((name, size), ty), count) in names.into_iter().zip(sizes).zip(types).zip(counts) {
        if size == 0 {
            return Err(format!("PCD header: SIZE of field `{}` is 0", shown(&name)));
        }
        if count == 0 {
            return Err(format!("PCD header: COUNT of field `{}` is 0", shown(&name)));
        }
        offsets.push(record_size);
        record_size = size.checked_mul(count).and_then(|w| record_size.checked_add(w)).ok_or("PCD header: the point record size overflows")?;
        fields.push(Field { name, size, ty, count });
    }
    let points = match (points, width) {
        (Some(p), _) => p,
        (None, Some(w)) => w.checked_mul(height.unwrap_or(1)).ok_or("PCD header: WIDTH × HEIGHT overflows")?,
        (None, None) => return Err("PCD header: neither POINTS nor WIDTH is given".into()),
    };
    Ok(Header { version, fields, offsets, record_size, points, data, data_start: pos, data_line: line_no + 1 })
}

/// Checks and decompresses a `binary_compressed` body: u32 compressed size, u32 uncompressed size,
/// then the LZF stream.
fn read_compressed(data: &[u8], points: u64, record: usize) -> Result<Vec<u8>, String> {
    let (Some(c), Some(u)) = (data.first_chunk::<4>(), data.get(4..).and_then(|d| d.first_chunk::<4>())) else {
        return Err(format!("binary_compressed data has {} bytes, too few for its 8-byte size prefix", data.len()));
    };
    let compressed = u32::from_le_bytes(*c) as usize;
    let uncompressed = u32::from_le_bytes(*u) as u64;
    let need = points.checked_mul(record as u64);
    if need != Some(uncompressed) {
        return Err(match need {
            Some(need) => format!("binary_compressed data unpacks to {uncompressed} bytes, but {points} points of {record} bytes need {need}"),
            None => format!("the header claims {points} points of {record} bytes, which is too many"),
        });
    }
    let stream = data.get(8..).unwrap_or(&[]);
    let Some(stream) = stream.get(..compressed) else {
        return Err(format!("binary_compressed data claims {compressed} compressed bytes but only {} follow", stream.len()));
    };
    // One LZF back-reference (3 bytes) expands to at most 264 bytes.
    if uncompressed > (compressed as u64).saturating_mul(LZF_MAX_RATIO).saturating_add(64) {
        return Err(format!("binary_compressed data claims {compressed} compressed bytes unpack to {uncompressed} bytes, more than LZF can produce"));
    }
    lzf_decompress(stream, uncompressed as usize)
}

/// The most one compressed byte can expand to in LZF (a 3-byte back-reference copies 264).
const LZF_MAX_RATIO: u64 = 88;

/// Decompresses a liblzf stream into exactly `out_len` bytes.
fn lzf_decompress(input: &[u8], out_len: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len);
    let mut ip = 0usize;
    let past_end = || "LZF data ends in the middle of an instruction".to_string();
    let overflow = || format!("LZF data unpacks to more than the declared {out_len} bytes");
    while let Some(&ctrl) = input.get(ip) {
        ip += 1;
        let ctrl = ctrl as usize;
        if ctrl < 32 {
            let len = ctrl + 1;
            let literal = input.get(ip..ip + len).ok_or_else(past_end)?;
            if out.len() + len > out_len {
                return Err(overflow());
            }
            out.extend_from_slice(literal);
            ip += len;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(ip).ok_or_else(past_end)? as usize;
                ip += 1;
            }
            len += 2;
            let back = ((ctrl & 0x1f) << 8) + *input.get(ip).ok_or_else(past_end)? as usize + 1;
            ip += 1;
            if back > out.len() {
                return Err(format!("LZF data refers back {back} bytes when only {} are unpacked", out.len()));
            }
            if out.len() + len > out_len {
                return Err(overflow());
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping copy: repeats the last `back` bytes.
                for k in start..start + len {
                    let b = out.get(k).copied().unwrap_or(0);
                    out.push(b);
                }
            }
        }
    }
    if out.len() != out_len {
        return Err(format!("LZF data unpacks to {} bytes, not the declared {out_len}", out.len()));
    }
    Ok(out)
}

/// The PCD ascii body: one point per line, values separated by whitespace.
struct AsciiPcd<'a> {
    data: &'a [u8],
    first_line: u64,
    n: u64,
    values_per_line: u64,
    /// (token index in the line, role), sorted by token index.
    roles: Vec<(u64, Role)>,
}

impl Points for AsciiPcd<'_> {
    fn for_each<F: FnMut(u64, &Vals)>(&self, _attrs: bool, mut f: F) -> Result<(), String> {
        let mut index = 0u64;
        for (line_no, line) in numbered_lines(self.data, self.first_line) {
            if index == self.n {
                break;
            }
            let text = std::str::from_utf8(line).map_err(|_| format!("line {line_no}: not text"))?;
            let mut v = Vals::default();
            let mut found = 0u64;
            let mut r = 0;
            for tok in text.split_ascii_whitespace() {
                if let Some(&(t, role)) = self.roles.get(r)
                    && t == found
                {
                    if !role.set_from_token(tok, &mut v) {
                        return Err(format!("line {line_no}: `{}` is not a number", shown(tok)));
                    }
                    r += 1;
                }
                found += 1;
            }
            if found != 0 {
                if found != self.values_per_line {
                    return Err(format!("line {line_no}: expected {} values, found {found}", self.values_per_line));
                }
                f(index, &v);
                index += 1;
            }
        }
        if index < self.n {
            return Err(format!("the header claims {} points but the data has only {index} lines", self.n));
        }
        Ok(())
    }
}

// ---- Shared with the PLY reader -------------------------------------------------------------

/// A scalar type as stored in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

/// `N` bytes at `off`, zeros past the end (callers check the layout against the data first).
#[inline(always)]
fn arr<const N: usize>(data: &[u8], off: usize) -> [u8; N] {
    data.get(off..).and_then(|s| s.first_chunk::<N>()).copied().unwrap_or([0; N])
}

macro_rules! num {
    ($t:ty, $data:expr, $off:expr, $be:expr) => {{
        let a = arr::<{ size_of::<$t>() }>($data, $off);
        (if $be { <$t>::from_be_bytes(a) } else { <$t>::from_le_bytes(a) }) as f64
    }};
}

impl Kind {
    pub(crate) fn size(self) -> usize {
        match self {
            Kind::I8 | Kind::U8 => 1,
            Kind::I16 | Kind::U16 => 2,
            Kind::I32 | Kind::U32 | Kind::F32 => 4,
            Kind::I64 | Kind::U64 | Kind::F64 => 8,
        }
    }

    pub(crate) fn is_float(self) -> bool {
        matches!(self, Kind::F32 | Kind::F64)
    }

    /// The value at byte `off` (0 past the end of `data`).
    #[inline(always)]
    pub(crate) fn read(self, data: &[u8], off: usize, be: bool) -> f64 {
        match self {
            Kind::F32 => num!(f32, data, off, be),
            Kind::F64 => num!(f64, data, off, be),
            Kind::I8 => num!(i8, data, off, be),
            Kind::U8 => num!(u8, data, off, be),
            Kind::I16 => num!(i16, data, off, be),
            Kind::U16 => num!(u16, data, off, be),
            Kind::I32 => num!(i32, data, off, be),
            Kind::U32 => num!(u32, data, off, be),
            Kind::I64 => num!(i64, data, off, be),
            Kind::U64 => num!(u64, data, off, be),
        }
    }

    /// The 4 bytes at `off` as raw bits (PCL's packed rgb).
    #[inline(always)]
    fn bits(data: &[u8], off: usize, be: bool) -> u32 {
        let a = arr::<4>(data, off);
        if be { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }
    }
}

/// The most points a cloud can hold (source indices are u32).
pub(crate) fn check_point_count(n: u64) -> Result<usize, String> {
    if n > u32::MAX as u64 {
        return Err(format!("{n} points are more than the {} a cloud can hold", u32::MAX));
    }
    usize::try_from(n).map_err(|_| format!("{n} points do not fit in memory"))
}

/// An initial capacity: the declared count, but never more than the data can hold.
pub(crate) fn capped(declared: u64, data_can_hold: usize) -> usize {
    usize::try_from(declared).unwrap_or(usize::MAX).min(data_can_hold)
}

/// A value for messages: at most 24 characters of it.
pub(crate) fn shown(tok: &str) -> String {
    let mut s: String = tok.chars().take(24).collect();
    if s.len() < tok.len() {
        s.push('…');
    }
    s
}

/// The line starting at `pos` (without its `\n`) and where the next one starts; `None` at the end.
/// The lines of `bytes` (without their `\n`), numbered from `first`.
pub(crate) fn numbered_lines(bytes: &[u8], first: u64) -> impl Iterator<Item = (u64, &[u8])> {
    let (mut pos, mut number) = (0, first);
    std::iter::from_fn(move || {
        let (line, next) = line_at(bytes, pos)?;
        pos = next;
        number += 1;
        Some((number - 1, line))
    })
}

pub(crate) fn line_at(bytes: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(pos..).filter(|r| !r.is_empty())?;
    Some(match rest.iter().position(|&b| b == b'\n') {
        Some(k) => (rest.split_at_checked(k).map_or(rest, |(line, _)| line), pos + k + 1),
        None => (rest, bytes.len()),
    })
}

/// One point's values, converted for the columns (intensity still raw: its scaling is per file).
#[derive(Clone, Copy, Default)]
pub(crate) struct Vals {
    pub(crate) xyz: [f64; 3],
    pub(crate) intensity: f64,
    pub(crate) class: f64,
    pub(crate) rgb: [u16; 3],
}

/// What a value is used for.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Role {
    X,
    Y,
    Z,
    Intensity,
    Class,
    /// PCL's rgb: 0x00RRGGBB in the 4 bytes of a float or integer.
    Packed(Kind),
    /// One of red (0), green (1), blue (2).
    Channel(u8, Kind),
}

impl Role {
    /// Sets the value from an ascii token; false when it is not a number.
    #[inline]
    pub(crate) fn set_from_token(self, tok: &str, v: &mut Vals) -> bool {
        if let Role::Packed(kind) = self {
            let bits = if kind.is_float() {
                tok.parse::<f32>().map(f32::to_bits).ok()
            } else {
                tok.parse::<i64>().map(|i| i as u32).ok().or_else(|| tok.parse::<f64>().ok().map(|f| f as u32))
            };
            return match bits {
                Some(bits) => {
                    v.rgb = packed_rgb(bits);
                    true
                }
                None => false,
            };
        }
        match tok.parse::<f64>() {
            Ok(x) => {
                self.set(x, v);
                true
            }
            Err(_) => false,
        }
    }

    /// Sets the value from the binary data at `off`, stored as `kind`.
    #[inline]
    pub(crate) fn set_from_bytes(self, kind: Kind, data: &[u8], off: usize, be: bool, v: &mut Vals) {
        match self {
            Role::Packed(_) => v.rgb = packed_rgb(Kind::bits(data, off, be)),
            _ => self.set(kind.read(data, off, be), v),
        }
    }

    #[inline]
    fn set(self, x: f64, v: &mut Vals) {
        match self {
            Role::X => v.xyz[0] = x,
            Role::Y => v.xyz[1] = x,
            Role::Z => v.xyz[2] = x,
            Role::Intensity => v.intensity = x,
            Role::Class => v.class = x,
            Role::Packed(_) => v.rgb = packed_rgb(x as u32),
            Role::Channel(c, kind) => {
                if let Some(slot) = v.rgb.get_mut(c as usize) {
                    *slot = channel_u16(kind, x);
                }
            }
        }
    }
}

/// PCL's packed colour, each 8-bit channel widened to 16 bits.
#[inline]
pub(crate) fn packed_rgb(bits: u32) -> [u16; 3] {
    let c = |shift: u32| ((bits >> shift) & 0xff) as u16 * 257;
    [c(16), c(8), c(0)]
}

/// A colour channel as 16 bits: 8-bit types widened (×257), 16-bit kept, floats taken as 0..1.
#[inline]
pub(crate) fn channel_u16(kind: Kind, v: f64) -> u16 {
    match kind {
        Kind::I8 | Kind::U8 => (v * 257.0) as u16,
        Kind::F32 | Kind::F64 => round_u16(v * 65535.0),
        _ => v as u16,
    }
}

/// Intensity as u16: floats of a file whose intensities all lie in 0..1 are scaled by 65535, other
/// values rounded and clamped (the `as` cast saturates and maps NaN to 0).
#[inline]
pub(crate) fn intensity_u16(v: f64, scale: bool) -> u16 {
    round_u16(if scale { v * 65535.0 } else { v })
}

/// Rounds to the nearest u16, clamping; NaN gives 0. (`f64::round` is a libm call on baseline
/// x86-64; for the values kept, adding one half and truncating is the same.)
#[inline(always)]
pub(crate) fn round_u16(v: f64) -> u16 {
    (v + 0.5) as u16
}

/// Clouds a reader can walk twice: once for the bounds, once to fill the columns.
pub(crate) trait Points {
    /// Calls `f` with each point's index in the file and its values, in file order. Without
    /// `attrs` a reader may leave everything but the coordinates out (it still reports errors).
    fn for_each<F: FnMut(u64, &Vals)>(&self, attrs: bool, f: F) -> Result<(), String>;
}

/// What the build needs besides the points.
pub(crate) struct Plan {
    pub(crate) columns: ColumnSet,
    /// Intensity stored as float (scaled when the file's values all lie in 0..1).
    pub(crate) float_intensity: bool,
    pub(crate) capacity: usize,
    pub(crate) info: CloudInfo,
}

/// Two passes: the finite bounds (and largest float intensity), then the columns around the origin
/// those bounds give.
pub(crate) fn build<P: Points>(points: &P, plan: Plan) -> Result<PointCloud, String> {
    let mut bounds = Bounds::new();
    let mut intensity_max = f64::NEG_INFINITY;
    points.for_each(plan.float_intensity, |_, v| {
        bounds.add(v.xyz);
        if v.intensity.is_finite() {
            intensity_max = intensity_max.max(v.intensity);
        }
    })?;
    let scale = plan.float_intensity && intensity_max <= 1.0;
    fill(points, bounds.origin(), scale, plan)
}

/// The second pass: points pushed one by one, non-finite ones dropped.
fn fill<P: Points>(points: &P, origin: [f64; 3], scale: bool, plan: Plan) -> Result<PointCloud, String> {
    let mut b = ColumnsBuilder::new(origin, plan.capacity, plan.columns);
    points.for_each(true, |i, v| {
        if b.push_world(i, v.xyz) {
            let c = &mut b.cloud;
            if let Some(col) = &mut c.intensity {
                col.push(intensity_u16(v.intensity, scale));
            }
            if let Some(col) = &mut c.classification {
                col.push(class_u8(v.class));
            }
            if let Some(col) = &mut c.rgb {
                col.push(v.rgb);
            }
        }
    })?;
    let mut cloud = b.finish();
    cloud.info = plan.info;
    Ok(cloud)
}

#[inline(always)]
fn class_u8(v: f64) -> u8 {
    (v + 0.5) as u8
}

/// Finite bounds of the coordinates, and how many points had a non-finite one.
struct Bounds {
    min: [f64; 3],
    max: [f64; 3],
    non_finite: u64,
}

impl Bounds {
    fn new() -> Self {
        Bounds { min: [f64::INFINITY; 3], max: [f64::NEG_INFINITY; 3], non_finite: 0 }
    }

    #[inline(always)]
    fn add(&mut self, [x, y, z]: [f64; 3]) {
        if x.is_finite() && y.is_finite() && z.is_finite() {
            // Plain comparisons: the values are finite, so no NaN handling is needed.
            let lo = |a: f64, b: f64| if b < a { b } else { a };
            let hi = |a: f64, b: f64| if b > a { b } else { a };
            let (min, max) = (self.min, self.max);
            self.min = [lo(min[0], x), lo(min[1], y), lo(min[2], z)];
            self.max = [hi(max[0], x), hi(max[1], y), hi(max[2], z)];
        } else {
            self.non_finite += 1;
        }
    }

    fn origin(&self) -> [f64; 3] {
        if self.min[0] <= self.max[0] { choose_origin(self.min, self.max) } else { [0.0; 3] }
    }
}

/// Runs `$body` with `$read: Fn(&Col, usize) -> f64` reading coordinates, specialised for the usual
/// layouts (all float32 or all float64, either byte order) so that those loops inline their reads.
macro_rules! with_coord_reader {
    ($fixed:expr, $read:ident => $body:expr) => {{
        let fixed: &Fixed = $fixed;
        let d = fixed.data;
        let at = |c: &Col, i: usize| c.base.wrapping_add(i.wrapping_mul(c.stride));
        let [cx, cy, cz] = &fixed.xyz;
        match (cx.kind, cy.kind, cz.kind, fixed.be) {
            (Kind::F32, Kind::F32, Kind::F32, false) => {
                let $read = |c: &Col, i: usize| f32::from_le_bytes(arr(d, at(c, i))) as f64;
                $body
            }
            (Kind::F32, Kind::F32, Kind::F32, true) => {
                let $read = |c: &Col, i: usize| f32::from_be_bytes(arr(d, at(c, i))) as f64;
                $body
            }
            (Kind::F64, Kind::F64, Kind::F64, false) => {
                let $read = |c: &Col, i: usize| f64::from_le_bytes(arr(d, at(c, i)));
                $body
            }
            (Kind::F64, Kind::F64, Kind::F64, true) => {
                let $read = |c: &Col, i: usize| f64::from_be_bytes(arr(d, at(c, i)));
                $body
            }
            _ => {
                let be = fixed.be;
                let $read = |c: &Col, i: usize| c.get(d, i, be);
                $body
            }
        }
    }};
}

/// One column of values converted by `conv`.
fn map_col<T>(d: &[u8], n: usize, be: bool, c: Col, conv: impl Fn(f64) -> T) -> Vec<T> {
    fold_col(d, n, be, c, Vec::with_capacity(n), |mut out, v| {
        out.push(conv(v));
        out
    })
}

/// Folds one column of values, the loop specialised for the stored type.
fn fold_col<A>(d: &[u8], n: usize, be: bool, c: Col, init: A, f: impl Fn(A, f64) -> A) -> A {
    let at = |i: usize| c.base.wrapping_add(i.wrapping_mul(c.stride));
    macro_rules! go {
        ($t:ty) => {
            if be {
                (0..n).fold(init, |a, i| f(a, <$t>::from_be_bytes(arr(d, at(i))) as f64))
            } else {
                (0..n).fold(init, |a, i| f(a, <$t>::from_le_bytes(arr(d, at(i))) as f64))
            }
        };
    }
    match c.kind {
        Kind::I8 => go!(i8),
        Kind::U8 => go!(u8),
        Kind::I16 => go!(i16),
        Kind::U16 => go!(u16),
        Kind::I32 => go!(i32),
        Kind::U32 => go!(u32),
        Kind::I64 => go!(i64),
        Kind::U64 => go!(u64),
        Kind::F32 => go!(f32),
        Kind::F64 => go!(f64),
    }
}

/// The build for binary records: when every point is finite, each column is filled by a loop of
/// its own; otherwise points are pushed one by one.
pub(crate) fn build_fixed(src: &Fixed, plan: Plan) -> Result<PointCloud, String> {
    src.check()?;
    let (d, n, be) = (src.data, src.n, src.be);
    let [cx, cy, cz] = &src.xyz;
    let bounds = with_coord_reader!(src, read => {
        let mut bounds = Bounds::new();
        for i in 0..n {
            bounds.add([read(cx, i), read(cy, i), read(cz, i)]);
        }
        bounds
    });
    let intensity_max = match (src.intensity, plan.float_intensity) {
        (Some(c), true) => fold_col(d, n, be, c, f64::NEG_INFINITY, |m, v| if v.is_finite() && v > m { v } else { m }),
        _ => f64::NEG_INFINITY,
    };
    let scale = plan.float_intensity && intensity_max <= 1.0;
    let origin = bounds.origin();
    if bounds.non_finite > 0 {
        return fill(src, origin, scale, plan);
    }
    let positions = with_coord_reader!(src, read => {
        let o = origin;
        (0..n).map(|i| [(read(cx, i) - o[0]) as f32, (read(cy, i) - o[1]) as f32, (read(cz, i) - o[2]) as f32]).collect()
    });
    let rgb = match &src.rgb {
        Rgb::None => None,
        Rgb::Packed(c) => Some((0..n).map(|i| packed_rgb(c.bits(d, i, be))).collect()),
        Rgb::Channels([r, g, b]) => Some(
            (0..n)
                .map(|i| [channel_u16(r.kind, r.get(d, i, be)), channel_u16(g.kind, g.get(d, i, be)), channel_u16(b.kind, b.get(d, i, be))])
                .collect(),
        ),
    };
    Ok(PointCloud {
        origin,
        positions,
        intensity: src.intensity.map(|c| map_col(d, n, be, c, |v| intensity_u16(v, scale))),
        classification: src.class.map(|c| map_col(d, n, be, c, class_u8)),
        rgb,
        info: plan.info,
        ..PointCloud::default()
    })
}

/// A value in every record: at `base + i * stride`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Col {
    pub(crate) kind: Kind,
    pub(crate) base: usize,
    pub(crate) stride: usize,
}

impl Col {
    #[inline(always)]
    fn get(&self, data: &[u8], i: usize, be: bool) -> f64 {
        self.kind.read(data, self.base.wrapping_add(i.wrapping_mul(self.stride)), be)
    }

    #[inline(always)]
    fn bits(&self, data: &[u8], i: usize, be: bool) -> u32 {
        Kind::bits(data, self.base.wrapping_add(i.wrapping_mul(self.stride)), be)
    }

    /// Whether all `n` values lie inside `len` bytes.
    fn fits(&self, n: usize, len: usize) -> bool {
        n == 0
            || (n - 1)
                .checked_mul(self.stride)
                .and_then(|o| o.checked_add(self.base))
                .and_then(|o| o.checked_add(self.kind.size()))
                .is_some_and(|end| end <= len)
    }
}

/// Where the colour comes from.
pub(crate) enum Rgb {
    None,
    Packed(Col),
    Channels([Col; 3]),
}

/// Binary records of one layout (row-major, or column-major as in `binary_compressed`).
pub(crate) struct Fixed<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) n: usize,
    pub(crate) be: bool,
    pub(crate) xyz: [Col; 3],
    pub(crate) intensity: Option<Col>,
    pub(crate) class: Option<Col>,
    pub(crate) rgb: Rgb,
}

impl Points for Fixed<'_> {
    fn for_each<F: FnMut(u64, &Vals)>(&self, attrs: bool, mut f: F) -> Result<(), String> {
        self.check()?;
        with_coord_reader!(self, read => self.run(attrs, &mut f, read));
        Ok(())
    }
}

impl Fixed<'_> {
    /// Checks that every column lies inside the data.
    fn check(&self) -> Result<(), String> {
        let (n, len) = (self.n, self.data.len());
        let fits = |c: &Col| c.fits(n, len);
        let rgb_fits = match &self.rgb {
            Rgb::None => true,
            Rgb::Packed(c) => fits(c),
            Rgb::Channels(c) => c.iter().all(fits),
        };
        if self.xyz.iter().chain(&self.intensity).chain(&self.class).all(fits) && rgb_fits {
            Ok(())
        } else {
            Err(format!("{n} records do not fit in {len} bytes of data"))
        }
    }

    #[inline(always)]
    fn run<F: FnMut(u64, &Vals), R: Fn(&Col, usize) -> f64>(&self, attrs: bool, f: &mut F, coord: R) {
        let (d, be) = (self.data, self.be);
        let [cx, cy, cz] = &self.xyz;
        for i in 0..self.n {
            let mut v = Vals { xyz: [coord(cx, i), coord(cy, i), coord(cz, i)], ..Vals::default() };
            if attrs {
                if let Some(c) = &self.intensity {
                    v.intensity = c.get(d, i, be);
                }
                if let Some(c) = &self.class {
                    v.class = c.get(d, i, be);
                }
                match &self.rgb {
                    Rgb::None => {}
                    Rgb::Packed(c) => v.rgb = packed_rgb(c.bits(d, i, be)),
                    Rgb::Channels([r, g, b]) => {
                        v.rgb = [channel_u16(r.kind, r.get(d, i, be)), channel_u16(g.kind, g.get(d, i, be)), channel_u16(b.kind, b.get(d, i, be))];
                    }
                }
            }
            f(i as u64, &v);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tiny greedy LZF compressor (liblzf's format), for test data.
    pub(crate) fn lzf_compress(input: &[u8]) -> Vec<u8> {
        fn flush(out: &mut Vec<u8>, lit: &mut Vec<u8>) {
            for chunk in lit.chunks(32) {
                out.push(chunk.len() as u8 - 1);
                out.extend_from_slice(chunk);
            }
            lit.clear();
        }
        let (mut out, mut lit, mut i) = (Vec::new(), Vec::new(), 0);
        while i < input.len() {
            let (mut best_len, mut best_back) = (0, 0);
            for j in i.saturating_sub(8192)..i {
                let mut l = 0;
                while i + l < input.len() && l < 264 && input[j + l] == input[i + l] {
                    l += 1;
                }
                if l > best_len {
                    (best_len, best_back) = (l, i - j);
                }
            }
            if best_len >= 3 {
                flush(&mut out, &mut lit);
                let (len, off) = (best_len - 2, best_back - 1);
                if len < 7 {
                    out.push(((len << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((len - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                i += best_len;
            } else {
                lit.push(input[i]);
                i += 1;
            }
        }
        flush(&mut out, &mut lit);
        out
    }

    /// A field as (name, size, type, count).
    type FieldSpec<'a> = (&'a str, usize, char, usize);

    /// A PCD header for `fields`.
    fn header(fields: &[FieldSpec], points: u64, data: &str) -> String {
        let list = |f: &dyn Fn(&FieldSpec) -> String| fields.iter().map(f).collect::<Vec<_>>().join(" ");
        format!(
            "# .PCD v0.7 - Point Cloud Data file format\nVERSION 0.7\nFIELDS {}\nSIZE {}\nTYPE {}\nCOUNT {}\nWIDTH {points}\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS {points}\nDATA {data}\n",
            list(&|f| f.0.to_string()),
            list(&|f| f.1.to_string()),
            list(&|f| f.2.to_string()),
            list(&|f| f.3.to_string()),
        )
    }

    const XYZ_F: [FieldSpec; 3] = [("x", 4, 'F', 1), ("y", 4, 'F', 1), ("z", 4, 'F', 1)];

    #[test]
    fn ascii_with_every_column_and_a_skipped_field() {
        let fields = [
            ("x", 4, 'F', 1),
            ("y", 4, 'F', 1),
            ("z", 4, 'F', 1),
            ("normal", 4, 'F', 3),
            ("intensity", 4, 'F', 1),
            ("rgb", 4, 'F', 1),
            ("label", 4, 'U', 1),
        ];
        let rgb = f32::from_bits(0x00FF_8001);
        let mut text = header(&fields, 3, "ascii");
        text += &format!("1.5 -2 3 0.1 0.2 0.3 0.5 {rgb} 7\n");
        text += "nan nan nan 0 0 1 1 0 2\n\n";
        text += &format!("  2.5 -1 4 9 9 9 1.0 {rgb} 300\r\n");
        let c = read(text.as_bytes()).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.dropped_non_finite, 1);
        assert_eq!(c.source_index, Some(vec![0, 2]));
        assert_eq!(c.origin, [2.0, -2.0, 4.0]);
        assert_eq!(c.world(0), [1.5, -2.0, 3.0]);
        assert_eq!(c.world(1), [2.5, -1.0, 4.0]);
        assert_eq!(c.intensity, Some(vec![32768, 65535]));
        assert_eq!(c.rgb, Some(vec![[0xffff, 0x8080, 0x0101]; 2]));
        assert_eq!(c.classification, Some(vec![7, 255]));
        assert_eq!(c.info.format, Some(CloudFormat::Pcd));
        assert_eq!(c.info.version.as_deref(), Some("0.7"));
        assert_eq!(c.info.encoding.as_deref(), Some("ascii"));
        assert_eq!(c.info.declared_points, 3);
        assert_eq!(c.info.fields, ["x", "y", "z", "normal", "intensity", "rgb", "label"]);
    }

    #[test]
    fn ascii_errors_name_the_line() {
        let mut text = header(&[("x", 4, 'F', 1), ("y", 4, 'F', 1), ("z", 4, 'F', 1), ("intensity", 4, 'F', 1)], 2, "ascii");
        let first_data_line = text.lines().count() + 1;
        let good = text.clone() + "1 2 3 4\n5 6 7 8\n";
        assert_eq!(read(good.as_bytes()).unwrap().len(), 2);
        let short = text.clone() + "1 2 3 4\n5 6\n";
        assert_eq!(read(short.as_bytes()).unwrap_err(), format!("line {}: expected 4 values, found 2", first_data_line + 1));
        let bad = text.clone() + "1 2 x 4\n5 6 7 8\n";
        assert_eq!(read(bad.as_bytes()).unwrap_err(), format!("line {first_data_line}: `x` is not a number"));
        text += "1 2 3 4\n";
        assert_eq!(read(text.as_bytes()).unwrap_err(), "the header claims 2 points but the data has only 1 lines");
    }

    /// Row-major records: x y z f32, a 4-byte padding field, intensity u16, rgb u32, label i32.
    fn binary_records(points: &[[f32; 3]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in points.iter().enumerate() {
            for v in p {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&[0xAA; 4]);
            out.extend_from_slice(&(1000 * (i % 60) as u16).to_le_bytes());
            out.extend_from_slice(&(0x0010_2030u32 + i as u32).to_le_bytes());
            out.extend_from_slice(&(i as i32 * 100 - 100).to_le_bytes());
        }
        out
    }

    const BINARY_FIELDS: [FieldSpec; 7] =
        [("x", 4, 'F', 1), ("y", 4, 'F', 1), ("z", 4, 'F', 1), ("_", 1, 'U', 4), ("intensity", 2, 'U', 1), ("rgb", 4, 'U', 1), ("label", 4, 'I', 1)];

    #[test]
    fn binary_row_major_drops_non_finite_points() {
        let points = [[1.0, 2.0, 3.0], [f32::NAN, 0.0, 0.0], [-1.0, 0.5, 10.0], [0.0, f32::INFINITY, 0.0], [4.0, 4.0, 4.0]];
        let mut file = header(&BINARY_FIELDS, 5, "binary").into_bytes();
        file.extend(binary_records(&points));
        file.extend_from_slice(b"trailing bytes are ignored");
        let c = read(&file).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.dropped_non_finite, 2);
        assert_eq!(c.source_index, Some(vec![0, 2, 4]));
        assert_eq!(c.source_index(1), 2);
        assert_eq!(c.origin, [2.0, 2.0, 7.0]);
        assert_eq!([c.world(0), c.world(1), c.world(2)], [[1.0, 2.0, 3.0], [-1.0, 0.5, 10.0], [4.0, 4.0, 4.0]]);
        assert_eq!(c.intensity, Some(vec![0, 2000, 4000]));
        assert_eq!(c.rgb, Some(vec![[0x1010, 0x2020, 0x3030], [0x1010, 0x2020, 0x3232], [0x1010, 0x2020, 0x3434]]));
        assert_eq!(c.classification, Some(vec![0, 100, 255]));
        assert_eq!(c.info.encoding.as_deref(), Some("binary"));
        assert_eq!(c.columns(), ["position", "intensity", "classification", "rgb"]);
    }

    /// Transposes `binary_records` into PCL's column-major `binary_compressed` layout.
    fn column_major(rows: &[u8]) -> Vec<u8> {
        let widths = [4usize, 4, 4, 4, 2, 4, 4];
        let record: usize = widths.iter().sum();
        let mut columns = Vec::new();
        let mut offset = 0;
        for w in widths {
            for r in rows.chunks(record) {
                columns.extend_from_slice(&r[offset..offset + w]);
            }
            offset += w;
        }
        columns
    }

    #[test]
    fn binary_compressed_is_column_major_lzf() {
        let points: Vec<[f32; 3]> = (0..200).map(|i| [i as f32 * 0.25, (i % 7) as f32, -3.0]).collect();
        let columns = column_major(&binary_records(&points));
        let packed = lzf_compress(&columns);
        assert!(packed.len() < columns.len());
        assert_eq!(lzf_decompress(&packed, columns.len()).unwrap(), columns);
        let mut file = header(&BINARY_FIELDS, 200, "binary_compressed").into_bytes();
        file.extend((packed.len() as u32).to_le_bytes());
        file.extend((columns.len() as u32).to_le_bytes());
        file.extend(&packed);
        let c = read(&file).unwrap();
        assert_eq!(c.len(), 200);
        assert_eq!(c.source_index, None);
        for (i, p) in points.iter().enumerate() {
            assert_eq!(c.world(i), p.map(f64::from));
        }
        assert_eq!(c.intensity.as_ref().unwrap()[3], 3000);
        assert_eq!(c.rgb.as_ref().unwrap()[2], [0x1010, 0x2020, 0x3232]);
        assert_eq!(c.info.encoding.as_deref(), Some("binary_compressed"));

        // The declared uncompressed size must match the points.
        let mut wrong = header(&BINARY_FIELDS, 200, "binary_compressed").into_bytes();
        wrong.extend((packed.len() as u32).to_le_bytes());
        wrong.extend((columns.len() as u32 - 1).to_le_bytes());
        wrong.extend(&packed);
        assert!(read(&wrong).unwrap_err().contains("unpacks to 5199 bytes, but 200 points of 26 bytes need 5200"));
        // Compressed size past the end of the file.
        let mut cut = file.clone();
        cut.truncate(file.len() - 1);
        assert!(read(&cut).unwrap_err().contains("compressed bytes but only"));
    }

    #[test]
    fn lzf_hand_made_stream_and_errors() {
        // Literal "abc", then a back-reference of 7 bytes 3 back (overlapping), then literal "Z".
        let stream = [2, b'a', b'b', b'c', (5 << 5), 2, 0, b'Z'];
        assert_eq!(lzf_decompress(&stream, 11).unwrap(), b"abcabcabcaZ");
        // A long back-reference (len 7 + extra byte).
        let long = [0, b'x', (7 << 5), 100 - 9, 0];
        assert_eq!(lzf_decompress(&long, 101).unwrap(), vec![b'x'; 101]);
        assert!(lzf_decompress(&[2, b'a'], 3).unwrap_err().contains("ends in the middle"));
        assert!(lzf_decompress(&[0, b'a', (1 << 5), 5], 10).unwrap_err().contains("refers back 6 bytes"));
        assert!(lzf_decompress(&[2, b'a', b'b', b'c'], 2).unwrap_err().contains("more than the declared 2"));
        assert!(lzf_decompress(&[2, b'a', b'b', b'c'], 4).unwrap_err().contains("unpacks to 3 bytes, not the declared 4"));
        assert!(lzf_decompress(&[(7 << 5)], 4).unwrap_err().contains("ends in the middle"));
        // Round trips of data with runs, repeats and noise.
        let mut seed = 1u32;
        let data: Vec<u8> = (0..20_000)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i % 3000 < 1000 {
                    7
                } else if i % 3000 < 2000 {
                    (i % 13) as u8
                } else {
                    (seed >> 24) as u8
                }
            })
            .collect();
        assert_eq!(lzf_decompress(&lzf_compress(&data), data.len()).unwrap(), data);
    }

    #[test]
    fn float64_coordinates_keep_georeferenced_precision() {
        let fields = [("x", 8, 'F', 1), ("y", 8, 'F', 1), ("z", 8, 'F', 1), ("intensity", 4, 'F', 1)];
        let points: [[f64; 3]; 3] =
            [[500_000.123_456, 5_000_000.654_321, 101.001], [500_010.5, 5_000_020.25, 99.999], [499_990.0, 4_999_990.0, 100.0]];
        let mut file = header(&fields, 3, "binary").into_bytes();
        for (i, p) in points.iter().enumerate() {
            for v in p {
                file.extend(v.to_le_bytes());
            }
            file.extend((i as f32 * 100.0).to_le_bytes());
        }
        let c = read(&file).unwrap();
        assert_eq!(c.origin, [500_000.0, 5_000_005.0, 101.0]);
        for (i, p) in points.iter().enumerate() {
            for k in 0..3 {
                assert!((c.world(i)[k] - p[k]).abs() < 1e-6, "point {i} axis {k}: {:?} vs {p:?}", c.world(i));
            }
        }
        // Float intensities beyond 0..1 are rounded and clamped, not scaled.
        assert_eq!(c.intensity, Some(vec![0, 100, 200]));
    }

    #[test]
    fn integer_intensity_is_clamped_and_width_height_give_the_count() {
        let text = "VERSION .7\nFIELDS x y z intensity\nSIZE 2 2 2 4\nTYPE I I U I\nWIDTH 2\nHEIGHT 2\nDATA ascii\n\
                    1 2 3 70000\n-1 -2 3 -5\n0 0 0 12\n0 0 65535 65535\n";
        let c = read(text.as_bytes()).unwrap();
        assert_eq!(c.info.declared_points, 4);
        assert_eq!(c.intensity, Some(vec![65535, 0, 12, 65535]));
        assert_eq!(c.world(1), [-1.0, -2.0, 3.0]);
        assert_eq!(c.world(3), [0.0, 0.0, 65535.0]);
    }

    #[test]
    fn header_errors() {
        let err = |s: &str| read(s.as_bytes()).unwrap_err();
        assert_eq!(err("hello world\n"), "PCD header line 1: unknown keyword `HELLO` (is this a PCD file?)");
        assert_eq!(err("VERSION 0.7\nFIELDS x y z\n"), "PCD header: no DATA line (is this a PCD file?)");
        assert_eq!(read(b"\xff\xfe\n").unwrap_err(), "PCD header line 1 is not text (is this a PCD file?)");
        assert_eq!(err("FIELDS x y z\nSIZE 4 4\nTYPE F F F\nPOINTS 0\nDATA ascii\n"), "PCD header: SIZE has 2 entries but FIELDS has 3");
        assert_eq!(
            err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1\nPOINTS 0\nDATA ascii\n"),
            "PCD header: COUNT has 2 entries but FIELDS has 3"
        );
        assert_eq!(err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F Q\nPOINTS 0\nDATA ascii\n"), "PCD header line 3: TYPE `Q` is not I, U or F");
        assert_eq!(
            err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS many\nDATA ascii\n"),
            "PCD header line 4: POINTS value `many` is not a whole number"
        );
        assert_eq!(err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nDATA ascii\n"), "PCD header: neither POINTS nor WIDTH is given");
        assert_eq!(
            err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA gzip\n"),
            "PCD header line 5: DATA `gzip` is not ascii, binary or binary_compressed"
        );
        assert_eq!(err("FIELDS a y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2 3\n"), "PCD header: no `x` field (FIELDS is `a y z`)");
        assert_eq!(
            err("FIELDS x y z\nSIZE 4 2 4\nTYPE F F F\nPOINTS 1\nDATA ascii\n1 2 3\n"),
            "PCD header: field `y` has TYPE F with SIZE 2, which cannot be read"
        );
        assert_eq!(err("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 0 1\nPOINTS 1\nDATA ascii\n1 2 3\n"), "PCD header: COUNT of field `y` is 0");
    }

    #[test]
    fn truncated_and_absurd_binary_data_is_refused_before_allocating() {
        let mut file = header(&XYZ_F, 10, "binary").into_bytes();
        file.extend([0u8; 12 * 9 + 5]);
        assert_eq!(read(&file).unwrap_err(), "the header claims 10 points of 12 bytes but only 113 bytes follow");

        // A 4-billion-point header on a ~100-byte file, in each encoding.
        for data in ["binary", "binary_compressed", "ascii"] {
            let mut file = format!("FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 4000000000\nDATA {data}\n").into_bytes();
            while file.len() < 100 {
                file.extend_from_slice(if data == "ascii" { b"1 2 3\n" } else { b"1" });
            }
            let e = read(&file).unwrap_err();
            assert!(e.contains("4000000000"), "{data}: {e}");
        }
        let mut file = b"FIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nPOINTS 4000000000\nDATA binary\n".to_vec();
        let follow = 100 - file.len();
        file.resize(100, 0);
        assert_eq!(read(&file).unwrap_err(), format!("the header claims 4000000000 points of 12 bytes but only {follow} bytes follow"));
        // A compressed block claiming an expansion LZF cannot produce.
        let mut file = header(&XYZ_F, 1_000_000, "binary_compressed").into_bytes();
        file.extend(10u32.to_le_bytes());
        file.extend(12_000_000u32.to_le_bytes());
        file.extend([0u8; 10]);
        assert!(read(&file).unwrap_err().contains("more than LZF can produce"));
        let mut file = header(&XYZ_F, 1, "binary_compressed").into_bytes();
        file.extend([1, 0, 0]);
        assert!(read(&file).unwrap_err().contains("too few for its 8-byte size prefix"));
    }

    /// Cheap deterministic fuzzing: mutated and truncated files must give a result or an error.
    /// `CAIRN_FUZZ_ROUNDS` runs more rounds.
    pub(crate) fn mutate_and_read(valid: &[u8], rounds: usize, read: fn(&[u8]) -> Result<PointCloud, String>) {
        let rounds = std::env::var("CAIRN_FUZZ_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(rounds);
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..rounds {
            let mut bytes = valid.to_vec();
            let edits = 1 + next() % 4;
            for _ in 0..edits {
                if bytes.is_empty() {
                    break;
                }
                let at = (next() % bytes.len() as u64) as usize;
                match next() % 6 {
                    0 => bytes[at] = next() as u8,
                    1 => bytes[at] = b"0123456789 \n-.e"[(next() % 15) as usize],
                    2 => bytes.truncate(at),
                    3 => {
                        bytes.remove(at);
                    }
                    4 => bytes.insert(at, b"9"[0]),
                    _ => bytes[at] ^= 1 << (next() % 8),
                }
            }
            if round % 50 == 0 {
                bytes.truncate((next() % (valid.len() as u64 + 1)) as usize);
            }
            let _ = read(&bytes);
        }
    }

    #[test]
    fn mutated_files_never_panic() {
        let fields = [("x", 4, 'F', 1), ("y", 4, 'F', 1), ("z", 4, 'F', 1), ("intensity", 4, 'F', 1), ("rgb", 4, 'F', 1), ("label", 4, 'U', 1)];
        let mut ascii = header(&fields, 3, "ascii");
        ascii += "1 2 3 0.5 4.2e-39 1\n4 5 6 0.25 1e-38 2\nnan 1 2 1 0 3\n";
        mutate_and_read(ascii.as_bytes(), 3000, read);
        let mut binary = header(&BINARY_FIELDS, 4, "binary").into_bytes();
        binary.extend(binary_records(&[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [f32::NAN, 0.0, 0.0], [7.0, 8.0, 9.0]]));
        mutate_and_read(&binary, 3000, read);
        let data = column_major(&binary_records(&[[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 4.0]]));
        let packed = lzf_compress(&data);
        let mut compressed = header(&BINARY_FIELDS, 3, "binary_compressed").into_bytes();
        compressed.extend((packed.len() as u32).to_le_bytes());
        compressed.extend((data.len() as u32).to_le_bytes());
        compressed.extend(&packed);
        assert_eq!(read(&compressed).unwrap().len(), 3);
        mutate_and_read(&compressed, 3000, read);
    }
}
