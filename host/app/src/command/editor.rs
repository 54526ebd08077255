//! Box edits on the store worker. Every edit is one store revision, written at once (a crash
//! loses nothing that was reported saved); undo and redo go through the store, so they also work
//! after a restart. The editor keeps the frame and the selection the commands were sent for: they
//! arrive in order, so each edit acts on what the person saw when they pressed its key.

use super::SceneState;
use crate::boxes::{BoxEdit, FrameRef, INTERPOLATED, LoadedCloud, SceneBox, boxes_of, is_keyframe, next_in_sequence, track_name};
use cairn_cloud::fit::{FitOptions, auto_fit};
use cairn_cloud::spatial::OrientedBox;
use cairn_model::{AnnotationId, AnnotatorId, AttributeValue, Cuboid, ItemData, Modality, Payload, RevisionId, fill_between_keyframes};
use cairn_store::{Edit, Project};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

#[derive(Default)]
pub(super) struct Editor {
    pub frames: Vec<FrameRef>,
    /// Index into `frames` of the frame shown.
    pub frame: usize,
    pub selected: Option<AnnotationId>,
    pub class_sizes: HashMap<String, [f64; 3]>,
    /// The revision of each box as the view was last told it: edits of a box are made from that
    /// one, so a change someone else made since is refused (and the view reloads) instead of lost.
    shown: std::cell::RefCell<HashMap<AnnotationId, RevisionId>>,
}

/// Who edits, and where the edit goes.
pub(super) struct Session<'a> {
    pub project: &'a mut Project,
    pub who: AnnotatorId,
    /// Active time since the last edit, recorded on the first revision this edit writes.
    pub active_ms: u64,
    pub committed: &'a mut Vec<RevisionId>,
}

impl Session<'_> {
    /// Writes one edit as one revision.
    fn write(&mut self, edit: Edit) -> Result<AnnotationId, String> {
        let outcome = self.project.apply(self.who, std::mem::take(&mut self.active_ms), edit).map_err(|e| e.to_string())?;
        self.committed.push(outcome.revision);
        Ok(outcome.annotation)
    }
}

fn frame_index(data: &ItemData) -> u32 {
    match data {
        ItemData::Frame(f) => f.index,
        _ => 0,
    }
}

impl Editor {
    /// The point-cloud frames of every point-cloud dataset, by sequence and index.
    pub fn list_frames(&mut self, project: &Project) -> Result<Vec<FrameRef>, String> {
        let base = project.base_dir();
        let datasets: Vec<_> = project
            .datasets()
            .map_err(|e| format!("cannot list the frames: {e}"))?
            .into_iter()
            .filter(|d| d.modality == Modality::PointCloud)
            .map(|d| d.id)
            .collect();
        let mut list = Vec::new();
        for dataset in datasets {
            project
                .for_each_item::<cairn_store::StoreError>(Some(dataset), |item| {
                    if let ItemData::Frame(frame) = &item.data {
                        list.push(FrameRef {
                            item: item.id,
                            key: item.key.clone(),
                            sequence: frame.sequence.clone(),
                            path: base.join(&frame.source.path),
                            data: item.data.clone(),
                        });
                    }
                    Ok(())
                })
                .map_err(|e| format!("cannot list the frames: {e}"))?;
        }
        // Stable: frames of one sequence stay in import order when their indices tie.
        list.sort_by(|a, b| a.sequence.cmp(&b.sequence).then(frame_index(&a.data).cmp(&frame_index(&b.data))));
        self.frames = list.clone();
        Ok(list)
    }

    /// Moves to a frame; going through a sequence, the selection follows its track.
    pub fn show_frame(&mut self, project: &Project, frame: usize) -> SceneState {
        let track = self.selected.and_then(|id| project.annotation(id).ok().flatten()).and_then(|a| match a.payload {
            Payload::Cuboid(c) => c.track_id,
            _ => None,
        });
        self.frame = frame;
        let mut state = self.state(project, None);
        if self.selected.is_some_and(|s| !state.boxes.iter().any(|b| b.annotation == s)) {
            self.selected = track.and_then(|t| state.boxes.iter().find(|b| b.cuboid.track_id == Some(t))).map(|b| b.annotation);
            state.selection = self.selected;
        }
        state
    }

    /// The frame, its boxes as stored, and the selection.
    pub fn state(&self, project: &Project, message: Option<Result<String, String>>) -> SceneState {
        let boxes = match self.frames.get(self.frame) {
            Some(frame) => boxes_of(project, frame.item),
            None => Ok(Vec::new()),
        };
        let (boxes, message) = match boxes {
            Ok(boxes) => (boxes, message),
            Err(e) => (Vec::new(), Some(Err(format!("cannot read the boxes: {e}")))),
        };
        self.shown.borrow_mut().extend(boxes.iter().map(|b| (b.annotation, b.revision)));
        SceneState { frame: self.frame, boxes, selection: self.selected, message }
    }

    /// The revision of a box the view shows (None for one it was never told of: no check).
    fn seen(&self, annotation: AnnotationId) -> Option<RevisionId> {
        self.shown.borrow().get(&annotation).copied()
    }

    fn selected_box(&self, project: &Project) -> Result<SceneBox, String> {
        let id = self.selected.ok_or("select a box first")?;
        match project.annotation(id).map_err(|e| e.to_string())? {
            Some(a) => match a.payload {
                Payload::Cuboid(cuboid) => Ok(SceneBox { annotation: id, cuboid, revision: a.revision }),
                _ => Err("the selection is not a box".into()),
            },
            None => Err("the selected box is gone".into()),
        }
    }

    /// Carries out one edit; Ok holds what to say (empty: nothing to say).
    pub fn carry_out(&mut self, session: &mut Session, edit: &BoxEdit, cloud: Option<(usize, Arc<LoadedCloud>)>) -> Result<String, String> {
        match edit {
            BoxEdit::Create(cuboid) => self.create(session, cuboid.clone()),
            BoxEdit::Replace(id, cuboid) => {
                let mut cuboid = cuboid.clone();
                cuboid.attributes.remove(INTERPOLATED);
                session.write(Edit::Update { annotation: *id, payload: Payload::Cuboid(cuboid), seen: self.seen(*id) }).map(|_| "saved".into())
            }
            BoxEdit::Class(class) if self.selected.is_none() => Ok(format!("new boxes: {class}")),
            BoxEdit::Nudge { .. } | BoxEdit::Resize { .. } | BoxEdit::Class(_) => {
                let selected = self.selected_box(session.project)?;
                self.change(session, &selected, edit.changed(&selected.cuboid).expect("edits of the selected box"))?;
                Ok(match edit {
                    BoxEdit::Class(class) => format!("class {class}"),
                    _ => String::new(),
                })
            }
            BoxEdit::AutoFit => match cloud {
                Some((frame, cloud)) if frame == self.frame && !cloud.preview => self.auto_fit(session, &cloud),
                Some((frame, _)) if frame == self.frame => Err("the frame is still loading: boxes are fitted to all its points".into()),
                _ => Err("the frame is still loading".into()),
            },
            BoxEdit::Delete => {
                let id = self.selected_box(session.project)?.annotation;
                session.write(Edit::Delete { annotation: id, seen: self.seen(id) })?;
                self.selected = None;
                Ok("deleted".into())
            }
            BoxEdit::CopyToNextFrame => self.copy_to_next_frame(session),
            BoxEdit::Interpolate => self.interpolate_track(session).map(|n| format!("interpolated {n} boxes")),
            BoxEdit::ToggleKeyframe => self.toggle_keyframe(session).map(|k| if k { "now a keyframe" } else { "now interpolated" }.into()),
            BoxEdit::Undo => self.step(session, false),
            BoxEdit::Redo => self.step(session, true),
        }
    }

    /// Writes a changed box; nothing is written when nothing but the interpolation mark changed
    /// on a keyframe (a key that hit a limit).
    fn change(&mut self, session: &mut Session, selected: &SceneBox, changed: Cuboid) -> Result<(), String> {
        if changed != selected.cuboid {
            session.write(Edit::Update {
                annotation: selected.annotation,
                payload: Payload::Cuboid(changed),
                seen: self.seen(selected.annotation),
            })?;
        }
        Ok(())
    }

    /// A new box on the current frame, selected, with a new track id.
    fn create(&mut self, session: &mut Session, mut cuboid: Cuboid) -> Result<String, String> {
        let item = self.frames.get(self.frame).ok_or("no frame")?.item;
        if cuboid.track_id.is_none() {
            cuboid.track_id = Some(session.project.max_track_id().map_err(|e| e.to_string())? + 1);
        }
        let class = cuboid.class.clone();
        let id = session.write(Edit::Create { item, payload: Payload::Cuboid(cuboid) })?;
        self.selected = Some(id);
        Ok(format!("new {class} box: F fits it to its points"))
    }

    /// Fits the selected box to its points: ground and outliers left out (see `cairn_cloud::fit`).
    fn auto_fit(&mut self, session: &mut Session, cloud: &LoadedCloud) -> Result<String, String> {
        let selected = self.selected_box(session.project)?;
        let default_size = self.class_sizes.get(&selected.cuboid.class).copied().or_else(|| cairn_cloud::fit::default_size(&selected.cuboid.class));
        let rough = OrientedBox::from_cuboid(&cloud.cloud, &selected.cuboid);
        let options = FitOptions { ground: cloud.ground, default_size, ..FitOptions::default() };
        let fit = auto_fit(&cloud.cloud.positions, &rough, &options).ok_or("too few points in and around the box to fit it")?;
        let fitted = fit.bbox.to_cuboid(&cloud.cloud, &selected.cuboid.class);
        let mut changed = selected.cuboid.clone();
        changed.center = fitted.center;
        changed.size = fitted.size;
        changed.yaw = cairn_model::normalize_angle(fitted.yaw);
        changed.attributes.remove(INTERPOLATED);
        self.change(session, &selected, changed)?;
        Ok(if fit.used_default_size {
            format!("too few object points to fit ({}): the class's default size, standing on the ground", fit.points)
        } else {
            format!("fitted to {} points", fit.points)
        })
    }

    /// Copies the selected box to the next frame of its sequence (same track) and goes there. When
    /// the track already has a box there, that box is selected instead.
    fn copy_to_next_frame(&mut self, session: &mut Session) -> Result<String, String> {
        let selected = self.selected_box(session.project)?;
        let next = next_in_sequence(&self.frames, self.frame).ok_or("this is the last frame of its sequence")?;
        let (item, key) = (self.frames[next].item, self.frames[next].key.clone());
        let existing =
            boxes_of(session.project, item)?.into_iter().find(|b| b.cuboid.track_id.is_some() && b.cuboid.track_id == selected.cuboid.track_id);
        self.frame = next;
        if let Some(b) = existing {
            self.selected = Some(b.annotation);
            return Ok(format!("track {} already has a box on {key}", track_name(&selected.cuboid)));
        }
        let mut copy = selected.cuboid.clone();
        copy.attributes.remove(INTERPOLATED);
        self.selected = Some(session.write(Edit::Create { item, payload: Payload::Cuboid(copy) })?);
        Ok(format!("copied track {} to {key}", track_name(&selected.cuboid)))
    }

    /// Fills the selected box's track between its keyframes: boxes made by interpolation are
    /// updated, missing ones created (one revision each, in one batch that undo takes whole);
    /// keyframes are never touched.
    fn interpolate_track(&mut self, session: &mut Session) -> Result<usize, String> {
        let selected = self.selected_box(session.project)?;
        let track = selected.cuboid.track_id.ok_or("the box has no track id")?;
        let sequence = self.frames[self.frame].sequence.clone();
        // (frame index, box) for every frame of the sequence that has the track.
        let mut keyframes = Vec::new();
        let mut others = HashMap::new();
        for (i, frame) in self.frames.iter().enumerate().filter(|(_, f)| f.sequence == sequence) {
            for b in boxes_of(session.project, frame.item)?.into_iter().filter(|b| b.cuboid.track_id == Some(track)) {
                if is_keyframe(&b.cuboid) {
                    keyframes.push((i as u32, b.cuboid));
                } else {
                    others.insert(i as u32, b.annotation);
                }
            }
        }
        if keyframes.len() < 2 {
            return Err(format!("track {track} needs keyframes on two frames to interpolate between (it has {})", keyframes.len()));
        }
        let keyframe_frames: HashSet<u32> = keyframes.iter().map(|(f, _)| *f).collect();
        let edits: Vec<Edit> = fill_between_keyframes(&keyframes)
            .into_iter()
            .filter(|(frame, _)| !keyframe_frames.contains(frame))
            .map(|(frame, mut cuboid)| {
                cuboid.attributes.insert(INTERPOLATED.into(), AttributeValue::Bool(true));
                let payload = Payload::Cuboid(cuboid);
                match others.get(&frame) {
                    Some(&annotation) => Edit::Update { annotation, payload, seen: None },
                    None => Edit::Create { item: self.frames[frame as usize].item, payload },
                }
            })
            .collect();
        // One batch: a single undo takes the whole interpolation back.
        let outcomes = session.project.apply_all(session.who, std::mem::take(&mut session.active_ms), &edits).map_err(|e| e.to_string())?;
        session.committed.extend(outcomes.iter().map(|o| o.revision));
        Ok(edits.len())
    }

    /// Turns the selected box into a keyframe, or back into an interpolated box.
    fn toggle_keyframe(&mut self, session: &mut Session) -> Result<bool, String> {
        let selected = self.selected_box(session.project)?;
        let mut cuboid = selected.cuboid.clone();
        let now_keyframe = !is_keyframe(&cuboid);
        if now_keyframe {
            cuboid.attributes.remove(INTERPOLATED);
        } else {
            cuboid.attributes.insert(INTERPOLATED.into(), AttributeValue::Bool(true));
        }
        session.write(Edit::Update { annotation: selected.annotation, payload: Payload::Cuboid(cuboid), seen: None })?;
        Ok(now_keyframe)
    }

    /// Undo (or redo) the annotator's last edit, wherever it was: the view goes to its frame (a
    /// batch, which spans frames, is undone where the view is).
    fn step(&mut self, session: &mut Session, redo: bool) -> Result<String, String> {
        let outcome = if redo { session.project.redo(session.who) } else { session.project.undo(session.who) }.map_err(|e| e.to_string())?;
        let verb = if redo { "redo" } else { "undo" };
        let Some(outcome) = outcome else { return Ok(format!("nothing to {verb}")) };
        session.committed.push(outcome.revision);
        let what = if outcome.steps > 1 {
            format!("{} changes from revision {}", outcome.steps, outcome.reverted.0)
        } else {
            format!("revision {}", outcome.reverted.0)
        };
        // A single change: go to its frame, and select what it changed. A batch spans frames: stay.
        if outcome.steps == 1 {
            if let Some(frame) = self.frames.iter().position(|f| f.item == outcome.item) {
                self.frame = frame;
            }
            self.selected = outcome.annotation;
        }
        Ok(format!("{verb}: {what}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_model::{AnnotatorKind, CloudFormat, CloudSummary, ContentHash, Frame, SourceFile};

    fn car(x: f64) -> Cuboid {
        Cuboid {
            center: [x, 0.0, 0.75],
            size: [4.0, 1.8, 1.5],
            yaw: 0.0,
            pitch: 0.0,
            roll: 0.0,
            class: "car".into(),
            attributes: Default::default(),
            track_id: Some(1),
        }
    }

    /// The view showed a box; someone else moved it before this annotator's nudge arrived: the
    /// nudge is refused naming them, their change stays, and the view is given the box as stored.
    #[test]
    fn an_edit_of_a_box_someone_changed_since_it_was_shown_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.cairn");
        let mut project = Project::create(&path).unwrap();
        let item = project
            .bulk_import(|b| {
                let ds = b.ensure_dataset("scans", Modality::PointCloud)?;
                let summary = CloudSummary { format: CloudFormat::Las, version: None, encoding: None, point_count: 10, bounds: None, fields: vec![] };
                let frame = Frame { sequence: None, index: 0, source: SourceFile { path: "a.las".into(), byte_len: 1, summary } };
                Ok::<_, cairn_store::StoreError>(b.insert_item(ds, "a.las", ContentHash([1; 16]), &ItemData::Frame(frame))?.id())
            })
            .unwrap();
        let ana = project.ensure_annotator("ana", AnnotatorKind::Human).unwrap();
        let made = project.apply(ana, 0, Edit::Create { item, payload: Payload::Cuboid(car(10.0)) }).unwrap();
        let mut editor = Editor::default();
        editor.list_frames(&project).unwrap();
        let shown = editor.show_frame(&project, 0);
        assert_eq!(shown.boxes[0].revision, made.revision);
        editor.selected = Some(made.annotation);

        let mut other = Project::open(&path).unwrap();
        let ben = other.ensure_annotator("ben", AnnotatorKind::Human).unwrap();
        other.apply(ben, 0, Edit::Update { annotation: made.annotation, payload: Payload::Cuboid(car(30.0)), seen: Some(made.revision) }).unwrap();

        let mut committed = Vec::new();
        let mut session = Session { project: &mut project, who: ana, active_ms: 0, committed: &mut committed };
        let nudge = BoxEdit::Nudge { forward: 1.0, left: 0.0, up: 0.0, turn: 0.0 };
        let err = editor.carry_out(&mut session, &nudge, None).unwrap_err();
        assert!(err.contains("changed by ben since you loaded it"), "{err}");
        assert!(committed.is_empty());
        let reloaded = editor.state(&project, None);
        assert_eq!(reloaded.boxes[0].cuboid.center[0], 30.0, "ben's change is what is stored and shown");
        // From the reloaded box, the nudge goes through.
        let mut session = Session { project: &mut project, who: ana, active_ms: 0, committed: &mut committed };
        editor.carry_out(&mut session, &nudge, None).unwrap();
        assert_eq!(committed.len(), 1);
        assert_eq!(editor.state(&project, None).boxes[0].cuboid.center[0], 31.0);
    }
}
