//! PLY reader: the `vertex` element of `format ascii`, `binary_little_endian` or
//! `binary_big_endian` files, decoded straight into columns. Elements before `vertex` are skipped
//! (list properties included), elements after it ignored.

use crate::PointCloud;
use crate::pcd::{Col, Fixed, Kind, Plan, Points, Rgb, Role, Vals, build, build_fixed, capped, check_point_count, line_at, numbered_lines, shown};
use crate::{CloudInfo, ColumnSet};
use cairn_model::CloudFormat;

/// Reads a whole PLY file held in memory.
pub fn read(bytes: &[u8]) -> Result<PointCloud, String> {
    let header = parse_header(bytes)?;
    let vertex_at = header.elements.iter().position(|e| e.name == "vertex").ok_or("PLY header: no `element vertex` line")?;
    let (before, rest) = header.elements.split_at(vertex_at);
    let Some(vertex) = rest.first() else {
        return Err("PLY header: no `element vertex` line".into());
    };
    let props = &vertex.props;

    // Which vertex properties feed which column.
    let find = |names: &[&str]| props.iter().position(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)));
    let mut roles: Vec<Option<Role>> = vec![None; props.len()];
    for (axis, role) in [("x", Role::X), ("y", Role::Y), ("z", Role::Z)] {
        let i = find(&[axis]).ok_or_else(|| {
            let all: Vec<&str> = props.iter().map(|p| p.name.as_str()).collect();
            format!("PLY header: the vertex element has no `{axis}` property (it has `{}`)", all.join(" "))
        })?;
        set_role(&mut roles, props, i, role)?;
    }
    let mut columns = ColumnSet::default();
    let mut float_intensity = false;
    if let Some(i) = find(&["intensity", "scalar_intensity"]).filter(|&i| scalar(props, i).is_some()) {
        columns.intensity = true;
        float_intensity = scalar(props, i).is_some_and(Kind::is_float);
        set_role(&mut roles, props, i, Role::Intensity)?;
    }
    if let Some(i) = find(&["classification", "scalar_classification", "label"]).filter(|&i| scalar(props, i).is_some()) {
        columns.classification = true;
        set_role(&mut roles, props, i, Role::Class)?;
    }
    let channels = [["red", "diffuse_red"], ["green", "diffuse_green"], ["blue", "diffuse_blue"]]
        .map(|names| find(&names).and_then(|i| Some((i, scalar(props, i)?))));
    if let [Some(r), Some(g), Some(b)] = channels {
        columns.rgb = true;
        for (c, (i, kind)) in [r, g, b].into_iter().enumerate() {
            set_role(&mut roles, props, i, Role::Channel(c as u8, kind))?;
        }
    }

    let info = CloudInfo {
        format: Some(CloudFormat::Ply),
        version: Some(header.version.clone()),
        encoding: Some(header.encoding.name().to_owned()),
        declared_points: vertex.count,
        fields: props.iter().map(|p| p.name.clone()).collect(),
        crs: None,
    };
    let body = bytes.get(header.data_start..).unwrap_or(&[]);
    let n_declared = vertex.count;

    match header.encoding {
        Encoding::Ascii => {
            let mut pos = 0;
            let mut line_no = header.data_line;
            for e in before {
                let mut skipped = 0u64;
                while skipped < e.count {
                    let Some((line, next)) = line_at(body, pos) else {
                        return Err(format!("the header claims {} `{}` lines but the data ends after {skipped}", e.count, shown(&e.name)));
                    };
                    pos = next;
                    line_no += 1;
                    if !line.iter().all(u8::is_ascii_whitespace) {
                        skipped += 1;
                    }
                }
            }
            let data = body.get(pos..).unwrap_or(&[]);
            let source = AsciiPly { data, first_line: line_no, n: n_declared, props, roles: &roles };
            let capacity = capped(n_declared, data.len() / 6 + 1);
            build(&source, Plan { columns, float_intensity, capacity, info })
        }
        Encoding::Le | Encoding::Be => {
            let be = header.encoding == Encoding::Be;
            let mut pos = 0usize;
            for e in before {
                pos = skip_binary(body, pos, e, be)?;
            }
            let data = body.get(pos..).unwrap_or(&[]);
            match fixed_record(props) {
                Some(record) => {
                    match n_declared.checked_mul(record as u64) {
                        Some(need) if need <= data.len() as u64 => {}
                        _ => {
                            return Err(format!("the header claims {n_declared} vertices of {record} bytes but only {} bytes follow", data.len()));
                        }
                    }
                    let n = check_point_count(n_declared)?;
                    let mut offsets = Vec::with_capacity(props.len());
                    let mut off = 0usize;
                    for p in props {
                        offsets.push(off);
                        off = off.saturating_add(p.min_size());
                    }
                    let col = |i: usize| -> Col {
                        let kind = scalar(props, i).unwrap_or(Kind::U8);
                        Col { kind, base: offsets.get(i).copied().unwrap_or(0), stride: record }
                    };
                    let role_col = |want: fn(Role) -> bool| roles.iter().position(|r| r.is_some_and(want)).map(col);
                    let xyz = [role_col(|r| matches!(r, Role::X)), role_col(|r| matches!(r, Role::Y)), role_col(|r| matches!(r, Role::Z))];
                    let [Some(x), Some(y), Some(z)] = xyz else {
                        return Err("PLY: vertex coordinates not found".into());
                    };
                    let rgb = match [
                        role_col(|r| matches!(r, Role::Channel(0, _))),
                        role_col(|r| matches!(r, Role::Channel(1, _))),
                        role_col(|r| matches!(r, Role::Channel(2, _))),
                    ] {
                        [Some(r), Some(g), Some(b)] => Rgb::Channels([r, g, b]),
                        _ => Rgb::None,
                    };
                    let source = Fixed {
                        data,
                        n,
                        be,
                        xyz: [x, y, z],
                        intensity: role_col(|r| matches!(r, Role::Intensity)),
                        class: role_col(|r| matches!(r, Role::Class)),
                        rgb,
                    };
                    build_fixed(&source, Plan { columns, float_intensity, capacity: n, info })
                }
                None => {
                    let min_record = props.iter().fold(0usize, |s, p| s.saturating_add(p.min_size())).max(1);
                    let source = ListPly { data, n: n_declared, be, props, roles: &roles };
                    let capacity = capped(n_declared, data.len() / min_record);
                    build(&source, Plan { columns, float_intensity, capacity, info })
                }
            }
        }
    }
}

fn scalar(props: &[Prop], i: usize) -> Option<Kind> {
    match props.get(i)?.ty {
        PropType::Scalar(k) => Some(k),
        PropType::List(..) => None,
    }
}

fn set_role(roles: &mut [Option<Role>], props: &[Prop], i: usize, role: Role) -> Result<(), String> {
    let name = props.get(i).map_or("", |p| p.name.as_str());
    if scalar(props, i).is_none() {
        return Err(format!("PLY header: vertex property `{}` is a list", shown(name)));
    }
    if let Some(slot) = roles.get_mut(i) {
        *slot = Some(role);
    }
    Ok(())
}

/// The record size when no property is a list.
fn fixed_record(props: &[Prop]) -> Option<usize> {
    props.iter().try_fold(0usize, |s, p| match p.ty {
        PropType::Scalar(k) => s.checked_add(k.size()),
        PropType::List(..) => None,
    })
}

/// Skips the records of a binary element; returns where the next element starts.
fn skip_binary(body: &[u8], pos: usize, e: &Element, be: bool) -> Result<usize, String> {
    let left = body.len().saturating_sub(pos);
    if let Some(record) = fixed_record(&e.props) {
        return match e.count.checked_mul(record as u64) {
            Some(size) if size <= left as u64 => Ok(pos + size as usize),
            _ => Err(format!("the header claims {} `{}` records of {record} bytes but only {left} bytes follow", e.count, shown(&e.name))),
        };
    }
    // Records with lists: walk them (each is at least one byte, so this ends with the data).
    let mut pos = pos;
    for i in 0..e.count {
        pos = record_end(body, pos, &e.props, be, |_, _, _| {}).map_err(|why| format!("`{}` record {i}: {why}", shown(&e.name)))?;
    }
    Ok(pos)
}

/// Walks one binary record starting at `pos`, calling `scalar(index, kind, offset)` for each scalar
/// property; returns where the record ends.
#[inline]
fn record_end(data: &[u8], mut pos: usize, props: &[Prop], be: bool, mut scalar: impl FnMut(usize, Kind, usize)) -> Result<usize, String> {
    let past_end = || "runs past the end of the data".to_string();
    for (i, p) in props.iter().enumerate() {
        match p.ty {
            PropType::Scalar(k) => {
                let end = pos.checked_add(k.size()).filter(|&e| e <= data.len()).ok_or_else(past_end)?;
                scalar(i, k, pos);
                pos = end;
            }
            PropType::List(count_kind, item) => {
                let end = pos.checked_add(count_kind.size()).filter(|&e| e <= data.len()).ok_or_else(past_end)?;
                let count = count_kind.read(data, pos, be);
                // The length type is an integer (checked in the header), so never NaN.
                if count < 0.0 {
                    return Err(format!("list `{}` has a length of {count}", shown(&p.name)));
                }
                let items = (count as u64).checked_mul(item.size() as u64).ok_or_else(past_end)?;
                pos = usize::try_from(items).ok().and_then(|len| end.checked_add(len)).filter(|&e| e <= data.len()).ok_or_else(past_end)?;
            }
        }
    }
    Ok(pos)
}

/// Binary vertices with list properties: each record walked.
struct ListPly<'a> {
    data: &'a [u8],
    n: u64,
    be: bool,
    props: &'a [Prop],
    roles: &'a [Option<Role>],
}

impl Points for ListPly<'_> {
    fn for_each<F: FnMut(u64, &Vals)>(&self, _attrs: bool, mut f: F) -> Result<(), String> {
        let (d, be) = (self.data, self.be);
        let mut pos = 0usize;
        for i in 0..self.n {
            let mut v = Vals::default();
            pos = record_end(d, pos, self.props, be, |p, kind, off| {
                if let Some(Some(role)) = self.roles.get(p) {
                    role.set_from_bytes(kind, d, off, be, &mut v);
                }
            })
            .map_err(|why| format!("vertex {i} {why}"))?;
            f(i, &v);
        }
        Ok(())
    }
}

/// Ascii vertices: one per line.
struct AsciiPly<'a> {
    data: &'a [u8],
    first_line: u64,
    n: u64,
    props: &'a [Prop],
    roles: &'a [Option<Role>],
}

impl Points for AsciiPly<'_> {
    fn for_each<F: FnMut(u64, &Vals)>(&self, _attrs: bool, mut f: F) -> Result<(), String> {
        let has_lists = fixed_record(self.props).is_none();
        let mut index = 0u64;
        for (this_line, line) in numbered_lines(self.data, self.first_line) {
            if index == self.n {
                break;
            }
            let text = std::str::from_utf8(line).map_err(|_| format!("line {this_line}: not text"))?;
            let mut toks = text.split_ascii_whitespace();
            let mut first = toks.next();
            if first.is_none() {
                continue;
            }
            let mut next_tok = || first.take().or_else(|| toks.next());
            let mut used = 0u64;
            let mut v = Vals::default();
            for (p, role) in self.props.iter().zip(self.roles) {
                let missing = |used: u64| {
                    if has_lists {
                        format!("line {this_line}: the vertex ends after {used} values, before property `{}`", shown(&p.name))
                    } else {
                        format!("line {this_line}: expected {} values, found {used}", self.props.len())
                    }
                };
                let tok = next_tok().ok_or_else(|| missing(used))?;
                used += 1;
                match p.ty {
                    PropType::Scalar(_) => {
                        if let Some(role) = role
                            && !role.set_from_token(tok, &mut v)
                        {
                            return Err(format!("line {this_line}: `{}` is not a number (property `{}`)", shown(tok), shown(&p.name)));
                        }
                    }
                    PropType::List(..) => {
                        let count: u64 = tok
                            .parse()
                            .map_err(|_| format!("line {this_line}: list length `{}` of `{}` is not a whole number", shown(tok), shown(&p.name)))?;
                        for _ in 0..count {
                            next_tok().ok_or_else(|| missing(used))?;
                            used += 1;
                        }
                    }
                }
            }
            let extra = next_tok().map_or(0, |_| 1) + toks.count() as u64;
            if extra > 0 {
                return Err(format!("line {this_line}: expected {used} values, found {}", used + extra));
            }
            f(index, &v);
            index += 1;
        }
        if index < self.n {
            return Err(format!("the header claims {} vertices but the data has only {index} lines", self.n));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    Ascii,
    Le,
    Be,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::Le => "binary_little_endian",
            Encoding::Be => "binary_big_endian",
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum PropType {
    Scalar(Kind),
    /// Length type, item type.
    List(Kind, Kind),
}

struct Prop {
    name: String,
    ty: PropType,
}

impl Prop {
    /// Bytes the property takes at least (a list's length alone).
    fn min_size(&self) -> usize {
        match self.ty {
            PropType::Scalar(k) | PropType::List(k, _) => k.size(),
        }
    }
}

struct Element {
    name: String,
    count: u64,
    props: Vec<Prop>,
}

struct Header {
    encoding: Encoding,
    version: String,
    elements: Vec<Element>,
    data_start: usize,
    /// Line number of the first line after `end_header`.
    data_line: u64,
}

fn kind_of(name: &str) -> Option<Kind> {
    Some(match name {
        "char" | "int8" => Kind::I8,
        "uchar" | "uint8" => Kind::U8,
        "short" | "int16" => Kind::I16,
        "ushort" | "uint16" => Kind::U16,
        "int" | "int32" => Kind::I32,
        "uint" | "uint32" => Kind::U32,
        "float" | "float32" => Kind::F32,
        "double" | "float64" => Kind::F64,
        _ => return None,
    })
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    let not_ply = "not a PLY file: it does not start with `ply`";
    let (first, mut pos) = line_at(bytes, 0).ok_or(not_ply)?;
    if first.trim_ascii() != b"ply" {
        return Err(not_ply.into());
    }
    let mut line_no = 1u64;
    let mut format: Option<(Encoding, String)> = None;
    let mut elements: Vec<Element> = Vec::new();
    loop {
        let Some((line, next)) = line_at(bytes, pos) else {
            return Err("PLY header: no `end_header` line".into());
        };
        pos = next;
        line_no += 1;
        let text = std::str::from_utf8(line).map_err(|_| format!("PLY header line {line_no} is not text"))?;
        let mut toks = text.split_ascii_whitespace();
        let Some(key) = toks.next() else { continue };
        let mut arg = |what: &str| toks.next().ok_or_else(|| format!("PLY header line {line_no}: `{key}` has no {what}"));
        match key {
            "comment" | "obj_info" => {}
            "format" => {
                let encoding = match arg("encoding")? {
                    "ascii" => Encoding::Ascii,
                    "binary_little_endian" => Encoding::Le,
                    "binary_big_endian" => Encoding::Be,
                    other => {
                        return Err(format!(
                            "PLY header line {line_no}: format `{}` is not ascii, binary_little_endian or binary_big_endian",
                            shown(other)
                        ));
                    }
                };
                let version = arg("version").unwrap_or("1.0").to_owned();
                format = Some((encoding, version));
            }
            "element" => {
                let name = arg("name")?.to_owned();
                let count = arg("count")?;
                let count =
                    count.parse::<u64>().map_err(|_| format!("PLY header line {line_no}: element count `{}` is not a whole number", shown(count)))?;
                elements.push(Element { name, count, props: Vec::new() });
            }
            "property" => {
                let type_of = |t: &str| kind_of(t).ok_or_else(|| format!("PLY header line {line_no}: unknown property type `{}`", shown(t)));
                let first = arg("type")?;
                let ty = if first == "list" {
                    let count = type_of(arg("length type")?)?;
                    if count.is_float() {
                        return Err(format!("PLY header line {line_no}: a list length cannot be a float"));
                    }
                    PropType::List(count, type_of(arg("item type")?)?)
                } else {
                    PropType::Scalar(type_of(first)?)
                };
                let name = arg("name")?.to_owned();
                let element = elements.last_mut().ok_or_else(|| format!("PLY header line {line_no}: property before any element"))?;
                element.props.push(Prop { name, ty });
            }
            "end_header" => break,
            other => return Err(format!("PLY header line {line_no}: unknown keyword `{}`", shown(other))),
        }
    }
    let (encoding, version) = format.ok_or("PLY header: no `format` line")?;
    Ok(Header { encoding, version, elements, data_start: pos, data_line: line_no + 1 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcd::tests::mutate_and_read;

    /// A value to write into a binary body.
    #[derive(Clone, Copy)]
    enum V {
        F(f32),
        D(f64),
        U8(u8),
        I8(i8),
        U16(u16),
        I32(i32),
    }

    fn put(out: &mut Vec<u8>, values: &[V], be: bool) {
        macro_rules! e {
            ($x:expr) => {
                if be { out.extend_from_slice(&$x.to_be_bytes()) } else { out.extend_from_slice(&$x.to_le_bytes()) }
            };
        }
        for v in values {
            match *v {
                V::F(x) => e!(x),
                V::D(x) => e!(x),
                V::U8(x) => e!(x),
                V::I8(x) => e!(x),
                V::U16(x) => e!(x),
                V::I32(x) => e!(x),
            }
        }
    }

    #[test]
    fn ascii_skips_elements_before_vertex_and_unknown_properties() {
        let text = "ply\r\nformat ascii 1.0\ncomment made by hand\nobj_info test\n\
            element camera 2\nproperty float view_x\nproperty list uchar int ids\n\
            element vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty float quality\n\
            property float intensity\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n\
            element face 1\nproperty list uchar int vertex_indices\nend_header\n\
            1.0 3 7 8 9\n2.0 0\n\
            1 2 3 0.9 0.5 255 128 0\n\
            nan 0 0 0 0 0 0 0\n\n\
            -1 -2 -3 0.9 1 1 2 3\n\
            0.5 0.5 0.5 0 0 10 20 30\n\
            3 0 1 2\n";
        let c = read(text.as_bytes()).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c.source_index, Some(vec![0, 2, 3]));
        assert_eq!(c.dropped_non_finite, 1);
        assert_eq!(c.origin, [0.0, 0.0, 0.0]);
        assert_eq!(c.world(0), [1.0, 2.0, 3.0]);
        assert_eq!(c.world(1), [-1.0, -2.0, -3.0]);
        assert_eq!(c.intensity, Some(vec![32768, 65535, 0]));
        assert_eq!(c.rgb, Some(vec![[65535, 128 * 257, 0], [257, 514, 771], [2570, 5140, 7710]]));
        assert_eq!(c.classification, None);
        assert_eq!(c.info.format, Some(CloudFormat::Ply));
        assert_eq!(c.info.encoding.as_deref(), Some("ascii"));
        assert_eq!(c.info.version.as_deref(), Some("1.0"));
        assert_eq!(c.info.declared_points, 4);
        assert_eq!(c.info.fields, ["x", "y", "z", "quality", "intensity", "red", "green", "blue"]);
    }

    #[test]
    fn ascii_errors_name_the_line() {
        let head = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty float w\nend_header\n";
        let err = |body: &str| read(format!("{head}{body}").as_bytes()).unwrap_err();
        assert_eq!(err("1 2 3 4\n5 6\n"), "line 10: expected 4 values, found 2");
        assert_eq!(err("1 2 3 4\n5 6 7 8 9\n"), "line 10: expected 4 values, found 5");
        assert_eq!(err("1 2 y 4\n5 6 7 8\n"), "line 9: `y` is not a number (property `z`)");
        assert_eq!(err("1 2 3 4\n"), "the header claims 2 vertices but the data has only 1 lines");
        let with_list =
            "ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty list uchar int n\nproperty float y\nproperty float z\nend_header\n";
        assert_eq!(read(format!("{with_list}1 3 7 7 7 2 3\n").as_bytes()).unwrap().world(0), [1.0, 2.0, 3.0]);
        assert_eq!(read(format!("{with_list}1 3 7 7\n").as_bytes()).unwrap_err(), "line 9: the vertex ends after 4 values, before property `n`");
        assert_eq!(read(format!("{with_list}1 -3 7 7\n").as_bytes()).unwrap_err(), "line 9: list length `-3` of `n` is not a whole number");
    }

    /// The same cloud in either byte order: a `material` element with a list before the vertices,
    /// vertices with a skipped normal, ushort intensity and uchar colours, then faces.
    fn binary_file(be: bool) -> Vec<u8> {
        let mut f = format!(
            "ply\nformat {} 1.0\nelement material 2\nproperty list uchar int ids\nproperty short flags\n\
             element vertex 3\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\n\
             property ushort scalar_Intensity\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n\
             property char label\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n",
            if be { "binary_big_endian" } else { "binary_little_endian" }
        )
        .into_bytes();
        put(&mut f, &[V::U8(2), V::I32(7), V::I32(8), V::U16(1)], be);
        put(&mut f, &[V::U8(0), V::U16(2)], be);
        for (i, p) in [[10.5f32, 20.25, -1.0], [f32::NAN, 1.0, 1.0], [11.5, 21.25, 1.0]].iter().enumerate() {
            put(
                &mut f,
                &[V::F(p[0]), V::F(p[1]), V::F(p[2]), V::F(0.5), V::U16(1000 + i as u16), V::U8(1), V::U8(2), V::U8(255), V::I8(i as i8 - 1)],
                be,
            );
        }
        put(&mut f, &[V::U8(3), V::I32(0), V::I32(1), V::I32(2)], be);
        f
    }

    #[test]
    fn binary_little_and_big_endian_agree() {
        let le = read(&binary_file(false)).unwrap();
        let be = read(&binary_file(true)).unwrap();
        assert_eq!(le.info.encoding.as_deref(), Some("binary_little_endian"));
        assert_eq!(be.info.encoding.as_deref(), Some("binary_big_endian"));
        assert_eq!(le.positions, be.positions);
        assert_eq!((&le.intensity, &le.rgb, &le.classification, &le.source_index), (&be.intensity, &be.rgb, &be.classification, &be.source_index));
        assert_eq!(le.len(), 2);
        assert_eq!(le.source_index, Some(vec![0, 2]));
        assert_eq!(le.origin, [11.0, 21.0, 0.0]);
        assert_eq!(le.world(0), [10.5, 20.25, -1.0]);
        assert_eq!(le.world(1), [11.5, 21.25, 1.0]);
        assert_eq!(le.intensity, Some(vec![1000, 1002]));
        assert_eq!(le.rgb, Some(vec![[257, 514, 65535]; 2]));
        assert_eq!(le.classification, Some(vec![0, 1]));
        assert_eq!(le.info.fields, ["x", "y", "z", "nx", "scalar_Intensity", "red", "green", "blue", "label"]);
    }

    #[test]
    fn georeferenced_doubles_keep_millimetres() {
        // Within a few metres of the origin f32 offsets keep 1e-6 m; further out they keep f32's
        // relative precision (2^-24 of the offset).
        let points = [
            [500_000.123_456_7, 5_000_000.987_654_3, 12.345_678],
            [500_003.001, 5_000_002.002, 10.003],
            [499_997.5, 4_999_998.25, 14.0],
            [500_456.001, 5_000_345.002, 12.0],
            [499_544.0, 4_999_655.0, 12.5],
        ];
        let mut f = b"ply\nformat binary_little_endian 1.0\nelement vertex 5\nproperty double x\nproperty double y\nproperty double z\nproperty float intensity\nend_header\n".to_vec();
        for p in points {
            put(&mut f, &[V::D(p[0]), V::D(p[1]), V::D(p[2]), V::F(0.25)], false);
        }
        let c = read(&f).unwrap();
        assert_eq!(c.origin, [500_000.0, 5_000_000.0, 12.0]);
        for (i, p) in points.iter().enumerate() {
            let w = c.world(i);
            for k in 0..3 {
                let near = (p[k] - c.origin[k]).abs() < 8.0;
                let tolerance = if near { 1e-6 } else { (p[k] - c.origin[k]).abs() * 2f64.powi(-24) };
                assert!((w[k] - p[k]).abs() <= tolerance, "point {i}: {w:?} vs {p:?}");
            }
        }
        assert_eq!(c.intensity, Some(vec![16384; 5]));
    }

    #[test]
    fn binary_vertices_with_a_list_and_ushort_colours() {
        for be in [false, true] {
            let mut f = format!(
                "ply\nformat {} 1.0\nelement vertex 3\nproperty float x\nproperty list uchar float extra\nproperty float y\nproperty float z\nproperty ushort red\nproperty ushort green\nproperty ushort blue\nend_header\n",
                if be { "binary_big_endian" } else { "binary_little_endian" }
            )
            .into_bytes();
            for i in 0..3u8 {
                put(&mut f, &[V::F(i as f32), V::U8(i)], be);
                for _ in 0..i {
                    put(&mut f, &[V::F(99.0)], be);
                }
                put(&mut f, &[V::F(2.0 * i as f32), V::F(if i == 1 { f32::INFINITY } else { 0.0 }), V::U16(1), V::U16(60000), V::U16(3)], be);
            }
            let c = read(&f).unwrap();
            assert_eq!(c.len(), 2, "be {be}");
            assert_eq!(c.source_index, Some(vec![0, 2]));
            assert_eq!(c.world(1), [2.0, 4.0, 0.0]);
            assert_eq!(c.rgb, Some(vec![[1, 60000, 3]; 2]));
            f.truncate(f.len() - 1);
            assert_eq!(read(&f).unwrap_err(), "vertex 2 runs past the end of the data");
        }
        // A negative list length.
        let mut f = b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty list char float l\nproperty float x\nproperty float y\nproperty float z\nend_header\n".to_vec();
        put(&mut f, &[V::I8(-1), V::F(0.0), V::F(0.0), V::F(0.0)], false);
        assert_eq!(read(&f).unwrap_err(), "vertex 0 list `l` has a length of -1");
    }

    #[test]
    fn header_and_size_errors() {
        let err = |s: &[u8]| read(s).unwrap_err();
        assert_eq!(err(b"PCD\n"), "not a PLY file: it does not start with `ply`");
        assert_eq!(err(b""), "not a PLY file: it does not start with `ply`");
        assert_eq!(err(b"ply\nformat ascii 1.0\nelement vertex 1\n"), "PLY header: no `end_header` line");
        assert_eq!(err(b"ply\nelement vertex 0\nend_header\n"), "PLY header: no `format` line");
        assert_eq!(err(b"ply\nformat ascii 1.0\nproperty float x\nend_header\n"), "PLY header line 3: property before any element");
        assert_eq!(
            err(b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float16 x\nend_header\n"),
            "PLY header line 4: unknown property type `float16`"
        );
        assert_eq!(err(b"ply\nformat ascii 1.0\nelement vertex x\nend_header\n"), "PLY header line 3: element count `x` is not a whole number");
        assert_eq!(
            err(b"ply\nformat binary 1.0\nend_header\n"),
            "PLY header line 2: format `binary` is not ascii, binary_little_endian or binary_big_endian"
        );
        assert_eq!(err(b"ply\nformat ascii 1.0\nelement face 0\nend_header\n"), "PLY header: no `element vertex` line");
        assert_eq!(err(b"ply\nformat ascii 1.0\nfoo\nend_header\n"), "PLY header line 3: unknown keyword `foo`");
        assert_eq!(
            err(b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float y\nproperty float z\nend_header\n"),
            "PLY header: the vertex element has no `x` property (it has `y z`)"
        );
        assert_eq!(
            err(b"ply\nformat ascii 1.0\nelement vertex 0\nproperty list uchar float x\nproperty float y\nproperty float z\nend_header\n"),
            "PLY header: vertex property `x` is a list"
        );

        let head = b"ply\nformat binary_little_endian 1.0\nelement vertex 10\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
        let mut f = head.to_vec();
        f.extend([0u8; 12 * 9 + 3]);
        assert_eq!(err(&f), "the header claims 10 vertices of 12 bytes but only 111 bytes follow");

        // 4 billion vertices in a 100-byte file.
        let mut f =
            b"ply\nformat binary_little_endian 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n"
                .to_vec();
        let follow = 100usize.saturating_sub(f.len());
        f.resize(f.len().max(100), 0);
        assert_eq!(err(&f), format!("the header claims 4000000000 vertices of 12 bytes but only {follow} bytes follow"));
        let f = b"ply\nformat ascii 1.0\nelement vertex 4000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\n";
        assert_eq!(err(f), "the header claims 4000000000 vertices but the data has only 1 lines");
        // Elements before the vertices that claim more than the file holds.
        let f = b"ply\nformat binary_little_endian 1.0\nelement junk 4000000000\nproperty int a\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0";
        assert_eq!(err(f), "the header claims 4000000000 `junk` records of 4 bytes but only 2 bytes follow");
        let f = b"ply\nformat binary_little_endian 1.0\nelement junk 4000000000\nproperty list uchar int a\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0";
        assert_eq!(err(f), "`junk` record 2: runs past the end of the data");
        let f = b"ply\nformat ascii 1.0\nelement junk 4000000000\nproperty int a\nelement vertex 0\nproperty float x\nproperty float y\nproperty float z\nend_header\n1\n2\n";
        assert_eq!(err(f), "the header claims 4000000000 `junk` lines but the data ends after 2");
    }

    #[test]
    fn mutated_files_never_panic() {
        let ascii = b"ply\nformat ascii 1.0\nelement camera 1\nproperty list uchar int ids\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n\
            property list uchar uchar l\nproperty uchar red\nproperty uchar green\nproperty uchar blue\nproperty float intensity\nend_header\n\
            2 1 2\n1 2 3 0 1 2 3 0.5\n4 5 6 2 9 9 4 5 6 0.1\nnan 0 0 0 0 0 0 0\n";
        assert_eq!(read(ascii).unwrap().len(), 2);
        mutate_and_read(ascii, 3000, read);
        mutate_and_read(&binary_file(false), 3000, read);
        mutate_and_read(&binary_file(true), 3000, read);
    }
}
