//! Remappable keyboard shortcuts for both views.
//!
//! Every shortcut is an [`Action`] bound to one or more [`Chord`]s. Each action belongs to a
//! [`Scope`] (the 3D view, the comparison view, or both), and one key may serve two actions only
//! when their scopes never apply at once (F fits a box in the 3D view and flags an item in the
//! comparison view). The defaults can be overridden
//! per action from a `keys.toml` file, so people on other keyboard layouts, or with other habits,
//! can move keys without touching the code:
//!
//! ```toml
//! [keys]
//! auto_fit = "G"
//! redo = ["Ctrl+Shift+Z", "Ctrl+Y"]
//! ```

use bevy::input::ButtonInput;
use bevy::input::keyboard::KeyCode;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where an action's keys work.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Both views.
    Global,
    /// The 3D view.
    Scene,
    /// The comparison view, whatever is on screen.
    Compare,
    /// The comparison view with two responses.
    Pair,
    /// The comparison view with three or more responses.
    Ranking,
}

impl Scope {
    /// Can one key press reach actions of both scopes?
    pub fn overlaps(self, other: Scope) -> bool {
        use Scope::*;
        self == other || self == Global || other == Global || matches!((self, other), (Compare, Pair | Ranking) | (Pair | Ranking, Compare))
    }

    /// The scope applies in this view.
    pub fn in_view(self, view: crate::View) -> bool {
        match self {
            Scope::Global => true,
            Scope::Scene => view == crate::View::Scene,
            Scope::Compare | Scope::Pair | Scope::Ranking => view == crate::View::Compare,
        }
    }
}

/// Everything a key can do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    NewBox,
    AutoFit,
    DeleteBox,
    Deselect,
    MoveForward,
    MoveBack,
    MoveLeft,
    MoveRight,
    MoveUp,
    MoveDown,
    RotateLeft,
    RotateRight,
    Longer,
    Shorter,
    Wider,
    Narrower,
    Taller,
    Lower,
    NextFrame,
    PreviousFrame,
    CopyToNextFrame,
    Interpolate,
    ToggleKeyframe,
    Undo,
    Redo,
    ColourMode,
    Help,
    FlyForward,
    FlyBack,
    FlyLeft,
    FlyRight,
    FlyDown,
    FlyUp,
    FrameSelection,
    NextBox,
    PreviousBox,
    SwitchView,
    LeftBetter,
    RightBetter,
    Tie,
    BothBad,
    Slightly,
    Clearly,
    Much,
    Rank1,
    Rank2,
    Rank3,
    Rank4,
    Rank5,
    Rank6,
    Rank7,
    Rank8,
    Rank9,
    Unrank,
    Submit,
    TakeBack,
    Skip,
    Flag,
    WordDiff,
    Guidelines,
}

impl Action {
    /// Every action, in declaration order: the order the help overlay lists them in.
    pub const ALL: &'static [Action] = &[
        Action::NewBox,
        Action::AutoFit,
        Action::DeleteBox,
        Action::Deselect,
        Action::MoveForward,
        Action::MoveBack,
        Action::MoveLeft,
        Action::MoveRight,
        Action::MoveUp,
        Action::MoveDown,
        Action::RotateLeft,
        Action::RotateRight,
        Action::Longer,
        Action::Shorter,
        Action::Wider,
        Action::Narrower,
        Action::Taller,
        Action::Lower,
        Action::NextFrame,
        Action::PreviousFrame,
        Action::CopyToNextFrame,
        Action::Interpolate,
        Action::ToggleKeyframe,
        Action::Undo,
        Action::Redo,
        Action::ColourMode,
        Action::Help,
        Action::FlyForward,
        Action::FlyBack,
        Action::FlyLeft,
        Action::FlyRight,
        Action::FlyDown,
        Action::FlyUp,
        Action::FrameSelection,
        Action::NextBox,
        Action::PreviousBox,
        Action::SwitchView,
        Action::LeftBetter,
        Action::RightBetter,
        Action::Tie,
        Action::BothBad,
        Action::Slightly,
        Action::Clearly,
        Action::Much,
        Action::Rank1,
        Action::Rank2,
        Action::Rank3,
        Action::Rank4,
        Action::Rank5,
        Action::Rank6,
        Action::Rank7,
        Action::Rank8,
        Action::Rank9,
        Action::Unrank,
        Action::Submit,
        Action::TakeBack,
        Action::Skip,
        Action::Flag,
        Action::WordDiff,
        Action::Guidelines,
    ];

    /// Ranking keys by response slot, left to right.
    pub const RANKS: [Action; 9] =
        [Action::Rank1, Action::Rank2, Action::Rank3, Action::Rank4, Action::Rank5, Action::Rank6, Action::Rank7, Action::Rank8, Action::Rank9];

    /// Where the action's keys work.
    pub fn scope(self) -> Scope {
        use Action::*;
        match self {
            SwitchView => Scope::Global,
            LeftBetter | RightBetter | Tie | BothBad => Scope::Pair,
            Rank1 | Rank2 | Rank3 | Rank4 | Rank5 | Rank6 | Rank7 | Rank8 | Rank9 | Unrank => Scope::Ranking,
            Slightly | Clearly | Much | Submit | TakeBack | Skip | Flag | WordDiff | Guidelines => Scope::Compare,
            _ => Scope::Scene,
        }
    }

    /// The name used in `keys.toml`.
    pub fn id(self) -> &'static str {
        match self {
            Action::NewBox => "new_box",
            Action::AutoFit => "auto_fit",
            Action::DeleteBox => "delete_box",
            Action::Deselect => "deselect",
            Action::MoveForward => "move_forward",
            Action::MoveBack => "move_back",
            Action::MoveLeft => "move_left",
            Action::MoveRight => "move_right",
            Action::MoveUp => "move_up",
            Action::MoveDown => "move_down",
            Action::RotateLeft => "rotate_left",
            Action::RotateRight => "rotate_right",
            Action::Longer => "longer",
            Action::Shorter => "shorter",
            Action::Wider => "wider",
            Action::Narrower => "narrower",
            Action::Taller => "taller",
            Action::Lower => "lower",
            Action::NextFrame => "next_frame",
            Action::PreviousFrame => "previous_frame",
            Action::CopyToNextFrame => "copy_to_next_frame",
            Action::Interpolate => "interpolate",
            Action::ToggleKeyframe => "toggle_keyframe",
            Action::Undo => "undo",
            Action::Redo => "redo",
            Action::ColourMode => "colour_mode",
            Action::Help => "help",
            Action::FlyForward => "fly_forward",
            Action::FlyBack => "fly_back",
            Action::FlyLeft => "fly_left",
            Action::FlyRight => "fly_right",
            Action::FlyDown => "fly_down",
            Action::FlyUp => "fly_up",
            Action::FrameSelection => "frame_selection",
            Action::NextBox => "next_box",
            Action::PreviousBox => "previous_box",
            Action::SwitchView => "switch_view",
            Action::LeftBetter => "left_better",
            Action::RightBetter => "right_better",
            Action::Tie => "tie",
            Action::BothBad => "both_bad",
            Action::Slightly => "slightly_better",
            Action::Clearly => "clearly_better",
            Action::Much => "much_better",
            Action::Rank1 => "rank_1",
            Action::Rank2 => "rank_2",
            Action::Rank3 => "rank_3",
            Action::Rank4 => "rank_4",
            Action::Rank5 => "rank_5",
            Action::Rank6 => "rank_6",
            Action::Rank7 => "rank_7",
            Action::Rank8 => "rank_8",
            Action::Rank9 => "rank_9",
            Action::Unrank => "unrank",
            Action::Submit => "submit",
            Action::TakeBack => "take_back",
            Action::Skip => "skip",
            Action::Flag => "flag",
            Action::WordDiff => "word_diff",
            Action::Guidelines => "guidelines",
        }
    }

    /// The action named `id` in `keys.toml`.
    pub fn from_id(id: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|action| action.id() == id)
    }

    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::NewBox => "new box: click both ends of its length, then its width (or drag along its length)",
            Action::AutoFit => "fit the selected box to its points (ground and outliers left out)",
            Action::DeleteBox => "delete the selected box",
            Action::Deselect => "deselect, or cancel the box being drawn",
            Action::MoveForward => "move the selected box forward 10 cm along its heading (Shift: 2 cm)",
            Action::MoveBack => "move the selected box back 10 cm along its heading (Shift: 2 cm)",
            Action::MoveLeft => "move the selected box left 10 cm, across its heading (Shift: 2 cm)",
            Action::MoveRight => "move the selected box right 10 cm, across its heading (Shift: 2 cm)",
            Action::MoveUp => "move the selected box up 10 cm (Shift: 2 cm)",
            Action::MoveDown => "move the selected box down 10 cm (Shift: 2 cm)",
            Action::RotateLeft => "turn the selected box 2° left, anticlockwise seen from above (Shift: 0.5°)",
            Action::RotateRight => "turn the selected box 2° right, clockwise seen from above (Shift: 0.5°)",
            Action::Longer => "make the selected box 10 cm longer (Shift: 2 cm)",
            Action::Shorter => "make the selected box 10 cm shorter (Shift: 2 cm)",
            Action::Wider => "make the selected box 10 cm wider (Shift: 2 cm)",
            Action::Narrower => "make the selected box 10 cm narrower (Shift: 2 cm)",
            Action::Taller => "make the selected box 10 cm taller (Shift: 2 cm)",
            Action::Lower => "make the selected box 10 cm less tall (Shift: 2 cm)",
            Action::NextFrame => "go to the next frame",
            Action::PreviousFrame => "go to the previous frame",
            Action::CopyToNextFrame => "copy the selected box to the next frame (same track) and go there",
            Action::Interpolate => "fill the selected track's boxes between its keyframes",
            Action::ToggleKeyframe => "make the selected box a keyframe, or an interpolated box again",
            Action::Undo => "undo the last change",
            Action::Redo => "redo the last undone change",
            Action::ColourMode => "colour points by height / intensity / classification / RGB / label",
            Action::Help => "show or hide this list of keys",
            Action::FlyForward => "fly the camera forward while held (Shift: faster)",
            Action::FlyBack => "fly the camera back while held (Shift: faster)",
            Action::FlyLeft => "fly the camera left while held (Shift: faster)",
            Action::FlyRight => "fly the camera right while held (Shift: faster)",
            Action::FlyDown => "fly the camera down while held (Shift: faster)",
            Action::FlyUp => "fly the camera up while held (Shift: faster)",
            Action::FrameSelection => "centre the camera on the selected box",
            Action::NextBox => "select the next box in this frame",
            Action::PreviousBox => "select the previous box in this frame",
            Action::SwitchView => "switch between the 3D view and the comparison view",
            Action::LeftBetter => "the left response is better, and submit",
            Action::RightBetter => "the right response is better, and submit",
            Action::Tie => "a tie, and submit",
            Action::BothBad => "both responses are bad, and submit",
            Action::Slightly => "first, optionally: slightly better",
            Action::Clearly => "first, optionally: clearly better",
            Action::Much => "first, optionally: much better",
            Action::Rank1 => "rank response 1 next (Shift: tied with the previous)",
            Action::Rank2 => "rank response 2 next (Shift: tied with the previous)",
            Action::Rank3 => "rank response 3 next (Shift: tied with the previous)",
            Action::Rank4 => "rank response 4 next (Shift: tied with the previous)",
            Action::Rank5 => "rank response 5 next (Shift: tied with the previous)",
            Action::Rank6 => "rank response 6 next (Shift: tied with the previous)",
            Action::Rank7 => "rank response 7 next (Shift: tied with the previous)",
            Action::Rank8 => "rank response 8 next (Shift: tied with the previous)",
            Action::Rank9 => "rank response 9 next (Shift: tied with the previous)",
            Action::Unrank => "take back the last ranked response",
            Action::Submit => "submit (rankings, or after choosing with the mouse)",
            Action::TakeBack => "take back the last submission",
            Action::Skip => "skip (asks for a reason)",
            Action::Flag => "flag the item for review, or unflag it",
            Action::WordDiff => "word diff between the first two responses",
            Action::Guidelines => "show or hide the guidelines and keys",
        }
    }

    /// The chords bound when `keys.toml` says nothing about this action.
    pub fn defaults(self) -> &'static [&'static str] {
        match self {
            Action::NewBox => &["Space"],
            Action::AutoFit => &["F"],
            Action::DeleteBox => &["Delete"],
            Action::Deselect => &["Escape"],
            Action::MoveForward => &["Up"],
            Action::MoveBack => &["Down"],
            Action::MoveLeft => &["Left"],
            Action::MoveRight => &["Right"],
            Action::MoveUp => &["PageUp"],
            Action::MoveDown => &["PageDown"],
            Action::RotateLeft => &["Z"],
            Action::RotateRight => &["X"],
            Action::Longer => &["Ctrl+Up"],
            Action::Shorter => &["Ctrl+Down"],
            Action::Wider => &["Ctrl+Right"],
            Action::Narrower => &["Ctrl+Left"],
            Action::Taller => &["Ctrl+PageUp"],
            Action::Lower => &["Ctrl+PageDown"],
            Action::NextFrame => &["Period"],
            Action::PreviousFrame => &["Comma"],
            Action::CopyToNextFrame => &["P"],
            Action::Interpolate => &["I"],
            Action::ToggleKeyframe => &["K"],
            Action::Undo => &["Ctrl+Z"],
            Action::Redo => &["Ctrl+Shift+Z", "Ctrl+Y"],
            Action::ColourMode => &["V"],
            Action::Help => &["H", "F1"],
            Action::FlyForward => &["W"],
            Action::FlyBack => &["S"],
            Action::FlyLeft => &["A"],
            Action::FlyRight => &["D"],
            Action::FlyDown => &["Q"],
            Action::FlyUp => &["E"],
            Action::FrameSelection => &["Home"],
            Action::NextBox => &["BracketRight"],
            Action::PreviousBox => &["BracketLeft"],
            Action::SwitchView => &["Tab"],
            Action::LeftBetter => &["1"],
            Action::RightBetter => &["2"],
            Action::Tie => &["3"],
            Action::BothBad => &["4"],
            Action::Slightly => &["Q"],
            Action::Clearly => &["W"],
            Action::Much => &["E"],
            Action::Rank1 => &["1"],
            Action::Rank2 => &["2"],
            Action::Rank3 => &["3"],
            Action::Rank4 => &["4"],
            Action::Rank5 => &["5"],
            Action::Rank6 => &["6"],
            Action::Rank7 => &["7"],
            Action::Rank8 => &["8"],
            Action::Rank9 => &["9"],
            Action::Unrank => &["Backspace"],
            Action::Submit => &["Enter"],
            Action::TakeBack => &["Ctrl+Z"],
            Action::Skip => &["S"],
            Action::Flag => &["F"],
            Action::WordDiff => &["D"],
            Action::Guidelines => &["G"],
        }
    }

    /// Step actions (move/rotate/resize/fly) also fire with Shift held (Shift = fine step / fast
    /// fly), and so do ranking keys (Shift = tied with the previous).
    pub fn takes_shift(self) -> bool {
        matches!(
            self,
            Action::MoveForward
                | Action::MoveBack
                | Action::MoveLeft
                | Action::MoveRight
                | Action::MoveUp
                | Action::MoveDown
                | Action::RotateLeft
                | Action::RotateRight
                | Action::Longer
                | Action::Shorter
                | Action::Wider
                | Action::Narrower
                | Action::Taller
                | Action::Lower
                | Action::FlyForward
                | Action::FlyBack
                | Action::FlyLeft
                | Action::FlyRight
                | Action::FlyDown
                | Action::FlyUp
                | Action::Rank1
                | Action::Rank2
                | Action::Rank3
                | Action::Rank4
                | Action::Rank5
                | Action::Rank6
                | Action::Rank7
                | Action::Rank8
                | Action::Rank9
        )
    }
}

/// Key names as written in `keys.toml` and shown in the help overlay; the first name of a key is the
/// one displayed.
const KEY_NAMES: &[(KeyCode, &str)] = &[
    (KeyCode::KeyA, "A"),
    (KeyCode::KeyB, "B"),
    (KeyCode::KeyC, "C"),
    (KeyCode::KeyD, "D"),
    (KeyCode::KeyE, "E"),
    (KeyCode::KeyF, "F"),
    (KeyCode::KeyG, "G"),
    (KeyCode::KeyH, "H"),
    (KeyCode::KeyI, "I"),
    (KeyCode::KeyJ, "J"),
    (KeyCode::KeyK, "K"),
    (KeyCode::KeyL, "L"),
    (KeyCode::KeyM, "M"),
    (KeyCode::KeyN, "N"),
    (KeyCode::KeyO, "O"),
    (KeyCode::KeyP, "P"),
    (KeyCode::KeyQ, "Q"),
    (KeyCode::KeyR, "R"),
    (KeyCode::KeyS, "S"),
    (KeyCode::KeyT, "T"),
    (KeyCode::KeyU, "U"),
    (KeyCode::KeyV, "V"),
    (KeyCode::KeyW, "W"),
    (KeyCode::KeyX, "X"),
    (KeyCode::KeyY, "Y"),
    (KeyCode::KeyZ, "Z"),
    (KeyCode::Digit0, "0"),
    (KeyCode::Digit1, "1"),
    (KeyCode::Digit2, "2"),
    (KeyCode::Digit3, "3"),
    (KeyCode::Digit4, "4"),
    (KeyCode::Digit5, "5"),
    (KeyCode::Digit6, "6"),
    (KeyCode::Digit7, "7"),
    (KeyCode::Digit8, "8"),
    (KeyCode::Digit9, "9"),
    (KeyCode::F1, "F1"),
    (KeyCode::F2, "F2"),
    (KeyCode::F3, "F3"),
    (KeyCode::F4, "F4"),
    (KeyCode::F5, "F5"),
    (KeyCode::F6, "F6"),
    (KeyCode::F7, "F7"),
    (KeyCode::F8, "F8"),
    (KeyCode::F9, "F9"),
    (KeyCode::F10, "F10"),
    (KeyCode::F11, "F11"),
    (KeyCode::F12, "F12"),
    (KeyCode::ArrowUp, "Up"),
    (KeyCode::ArrowDown, "Down"),
    (KeyCode::ArrowLeft, "Left"),
    (KeyCode::ArrowRight, "Right"),
    (KeyCode::PageUp, "PageUp"),
    (KeyCode::PageDown, "PageDown"),
    (KeyCode::Home, "Home"),
    (KeyCode::End, "End"),
    (KeyCode::Insert, "Insert"),
    (KeyCode::Delete, "Delete"),
    (KeyCode::Backspace, "Backspace"),
    (KeyCode::Enter, "Enter"),
    (KeyCode::Escape, "Escape"),
    (KeyCode::Escape, "Esc"),
    (KeyCode::Space, "Space"),
    (KeyCode::Tab, "Tab"),
    (KeyCode::Comma, "Comma"),
    (KeyCode::Comma, ","),
    (KeyCode::Period, "Period"),
    (KeyCode::Period, "."),
    (KeyCode::Minus, "Minus"),
    (KeyCode::Minus, "-"),
    (KeyCode::Equal, "Equal"),
    (KeyCode::Equal, "="),
    (KeyCode::BracketLeft, "BracketLeft"),
    (KeyCode::BracketLeft, "["),
    (KeyCode::BracketRight, "BracketRight"),
    (KeyCode::BracketRight, "]"),
    (KeyCode::Slash, "Slash"),
    (KeyCode::Slash, "/"),
    (KeyCode::Semicolon, "Semicolon"),
    (KeyCode::Semicolon, ";"),
    (KeyCode::Quote, "Quote"),
    (KeyCode::Quote, "'"),
    (KeyCode::Backslash, "Backslash"),
];

fn key_from_name(name: &str) -> Option<KeyCode> {
    KEY_NAMES.iter().find(|(_, known)| known.eq_ignore_ascii_case(name)).map(|(key, _)| *key)
}

fn key_name(key: KeyCode) -> Option<&'static str> {
    KEY_NAMES.iter().find(|(known, _)| *known == key).map(|(_, name)| *name)
}

/// A key with the modifiers that must be held.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Chord {
    pub ctrl: bool,
    pub shift: bool,
    pub alt: bool,
    pub key: KeyCode,
}

impl Chord {
    /// A key with no modifiers.
    pub fn key(key: KeyCode) -> Chord {
        Chord { ctrl: false, shift: false, alt: false, key }
    }

    /// Reads text like "Ctrl+Shift+Z": modifiers (Ctrl or Control, Shift, Alt; any case) joined by
    /// `+`, then one key name.
    pub fn parse(text: &str) -> Result<Chord, String> {
        let parts: Vec<&str> = text.split('+').map(str::trim).collect();
        let (key_part, modifiers) = parts.split_last().expect("split yields at least one part");
        if parts.iter().any(|part| part.is_empty()) {
            return Err(format!("\"{text}\" is not a key: write modifiers and a key joined by '+', like \"Ctrl+Z\""));
        }
        let (mut ctrl, mut shift, mut alt) = (false, false, false);
        for modifier in modifiers {
            let flag = match modifier.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => &mut ctrl,
                "shift" => &mut shift,
                "alt" => &mut alt,
                _ => return Err(format!("unknown modifier \"{modifier}\" in \"{text}\" (modifiers are Ctrl, Shift and Alt, before the key)")),
            };
            if *flag {
                return Err(format!("\"{modifier}\" appears twice in \"{text}\""));
            }
            *flag = true;
        }
        let key = key_from_name(key_part).ok_or_else(|| {
            if matches!(key_part.to_ascii_lowercase().as_str(), "ctrl" | "control" | "shift" | "alt") {
                format!("\"{text}\" has no key after its modifiers")
            } else {
                format!(
                    "unknown key \"{key_part}\" in \"{text}\" (keys are A-Z, 0-9, F1-F12, Up, Down, Left, Right, \
                     PageUp, PageDown, Home, End, Insert, Delete, Backspace, Enter, Escape, Space, Tab, Comma, \
                     Period, Minus, Equal, BracketLeft, BracketRight, Slash, Semicolon, Quote, Backslash)"
                )
            }
        })?;
        Ok(Chord { ctrl, shift, alt, key })
    }

    /// Pressed this frame with exactly these modifiers (Ctrl = either ControlLeft/Right, etc.). With
    /// `any_shift`, Shift may or may not be held (when the chord itself has no Shift).
    pub fn just_pressed(&self, keys: &ButtonInput<KeyCode>, any_shift: bool) -> bool {
        keys.just_pressed(self.key) && self.modifiers_match(keys, any_shift)
    }

    /// Held down with exactly these modifiers, as in [`Chord::just_pressed`]: for keys that act for
    /// as long as they are held (flying).
    pub fn held(&self, keys: &ButtonInput<KeyCode>, any_shift: bool) -> bool {
        keys.pressed(self.key) && self.modifiers_match(keys, any_shift)
    }

    fn modifiers_match(&self, keys: &ButtonInput<KeyCode>, any_shift: bool) -> bool {
        let ctrl = keys.any_pressed([KeyCode::ControlLeft, KeyCode::ControlRight]);
        let shift = keys.any_pressed([KeyCode::ShiftLeft, KeyCode::ShiftRight]);
        let alt = keys.any_pressed([KeyCode::AltLeft, KeyCode::AltRight]);
        ctrl == self.ctrl && alt == self.alt && (shift == self.shift || (any_shift && !self.shift))
    }

    /// Would pressing `self` also fire `other`, bound to an action that takes Shift when
    /// `other_takes_shift`? Two chords overlap when they are equal, or when they differ only by a
    /// Shift that the other action ignores.
    fn fires(&self, other: &Chord, other_takes_shift: bool) -> bool {
        self == other || (other_takes_shift && !other.shift && Chord { shift: false, ..*self } == *other)
    }
}

impl fmt::Display for Chord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("Ctrl+")?;
        }
        if self.shift {
            f.write_str("Shift+")?;
        }
        if self.alt {
            f.write_str("Alt+")?;
        }
        match key_name(self.key) {
            Some(name) => f.write_str(name),
            None => write!(f, "{:?}", self.key),
        }
    }
}

/// Which chords each action answers to.
#[derive(bevy::prelude::Resource, Clone, Debug)]
pub struct KeyMap {
    /// Indexed by the action's position in [`Action::ALL`].
    chords: Vec<Vec<Chord>>,
}

impl Default for KeyMap {
    fn default() -> KeyMap {
        let chords = Action::ALL
            .iter()
            .map(|action| {
                action.defaults().iter().map(|text| Chord::parse(text).unwrap_or_else(|err| panic!("default for {}: {err}", action.id()))).collect()
            })
            .collect();
        KeyMap { chords }
    }
}

/// Where a binding came from, to point at it in errors.
struct Origin<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Origin<'_> {
    fn line(&self, span: &Range<usize>) -> usize {
        let start = span.start.min(self.text.len());
        self.text.as_bytes()[..start].iter().filter(|&&byte| byte == b'\n').count() + 1
    }

    fn at(&self, span: &Range<usize>, message: impl fmt::Display) -> String {
        format!("{}:{}: {message}", self.path.display(), self.line(span))
    }
}

impl KeyMap {
    /// `$CAIRN_KEYS` if set, else `<config dir>/cairn/keys.toml` (dirs::config_dir()).
    pub fn config_path() -> Option<PathBuf> {
        match std::env::var_os("CAIRN_KEYS") {
            Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
            _ => dirs::config_dir().map(|dir| dir.join("cairn").join("keys.toml")),
        }
    }

    /// Defaults overridden by the file's `[keys]` table; a missing file is the defaults. Errors name
    /// the file and the line: unknown action (list the known ids), a bad key name, a value that is
    /// neither a string nor a list of strings, and the same chord bound to two actions (name both).
    pub fn load(path: &Path) -> Result<KeyMap, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => KeyMap::from_toml(&text, path),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(KeyMap::default()),
            Err(err) => Err(format!("{}: {err}", path.display())),
        }
    }

    /// As [`KeyMap::load`], from the file's text; `origin` only names the file in errors. An action
    /// bound to an empty list has no keys.
    pub fn from_toml(text: &str, origin: &Path) -> Result<KeyMap, String> {
        let origin = Origin { path: origin, text };
        let document = DeTable::parse(text).map_err(|err| {
            let message = err.message().trim_end().to_owned();
            match err.span() {
                Some(span) => origin.at(&span, message),
                None => format!("{}: {message}", origin.path.display()),
            }
        })?;
        let mut map = KeyMap::default();
        // The line of each action's binding in the file, for conflict errors.
        let mut bound_at: Vec<Option<Range<usize>>> = vec![None; Action::ALL.len()];
        for (name, value) in document.get_ref().iter() {
            if name.get_ref().as_ref() != "keys" {
                let what = match value.get_ref() {
                    DeValue::Table(_) => format!("unknown table [{}] (only [keys] is read)", name.get_ref()),
                    _ => format!("unknown entry \"{}\" (bindings go in the [keys] table)", name.get_ref()),
                };
                return Err(origin.at(&name.span(), what));
            }
            let DeValue::Table(keys) = value.get_ref() else {
                return Err(origin.at(&value.span(), "keys: expected a table of bindings, like auto_fit = \"G\""));
            };
            for (id, value) in keys.iter() {
                let Some(action) = Action::from_id(id.get_ref()) else {
                    let known: Vec<&str> = Action::ALL.iter().map(|action| action.id()).collect();
                    return Err(origin.at(&id.span(), format!("keys.{}: unknown action (known: {})", id.get_ref(), known.join(", "))));
                };
                map.chords[action as usize] = parse_binding(action, value, &origin)?;
                bound_at[action as usize] = Some(value.span());
            }
        }
        map.check_conflicts(&origin, &bound_at)?;
        Ok(map)
    }

    /// Fails when one key press would fire two actions.
    fn check_conflicts(&self, origin: &Origin<'_>, bound_at: &[Option<Range<usize>>]) -> Result<(), String> {
        for (i, &first) in Action::ALL.iter().enumerate() {
            for &second in Action::ALL[i + 1..].iter().filter(|second| second.scope().overlaps(first.scope())) {
                for a in self.chords(first) {
                    for b in self.chords(second) {
                        let (pressed, fired, fired_action) = if a.fires(b, second.takes_shift()) {
                            (a, b, second)
                        } else if b.fires(a, first.takes_shift()) {
                            (b, a, first)
                        } else {
                            continue;
                        };
                        let pressed_action = if fired_action == first { second } else { first };
                        // Point at the binding the file made; the later one when it made both.
                        let blamed = match (&bound_at[first as usize], &bound_at[second as usize]) {
                            (Some(x), Some(y)) => {
                                if x.start > y.start {
                                    first
                                } else {
                                    second
                                }
                            }
                            (Some(_), None) => first,
                            _ => second,
                        };
                        let other = if blamed == first { second } else { first };
                        let how = if pressed == fired {
                            format!("\"{pressed}\" is also bound to {}", other.id())
                        } else {
                            format!(
                                "\"{pressed}\" ({}) also fires {}, whose \"{fired}\" works with Shift held too",
                                pressed_action.id(),
                                fired_action.id()
                            )
                        };
                        let message =
                            format!("keys.{}: {how}; {} and {} cannot share a key (rebind one of them)", blamed.id(), blamed.id(), other.id());
                        return Err(match &bound_at[blamed as usize] {
                            Some(span) => origin.at(span, message),
                            None => format!("{}: {message}", origin.path.display()),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Any chord of the action pressed this frame; step actions also fire with Shift held.
    pub fn just_pressed(&self, action: Action, keys: &ButtonInput<KeyCode>) -> bool {
        self.chords(action).iter().any(|chord| chord.just_pressed(keys, action.takes_shift()))
    }

    /// Any chord of the action held down; step actions also count with Shift held.
    pub fn held(&self, action: Action, keys: &ButtonInput<KeyCode>) -> bool {
        self.chords(action).iter().any(|chord| chord.held(keys, action.takes_shift()))
    }

    /// The chords bound to `action`, in the order given.
    pub fn chords(&self, action: Action) -> &[Chord] {
        &self.chords[action as usize]
    }

    /// (keys as "Ctrl+Shift+Z / Ctrl+Y", description) for every action of the view in ALL order:
    /// what the help lists.
    pub fn help(&self, view: crate::View) -> Vec<(String, &'static str)> {
        Action::ALL.iter().filter(|action| action.scope().in_view(view)).map(|&action| (self.keys_of(action), action.describe())).collect()
    }

    /// The action's keys as "Ctrl+Shift+Z / Ctrl+Y", or "(unbound)".
    pub fn keys_of(&self, action: Action) -> String {
        let chords: Vec<String> = self.chords(action).iter().map(Chord::to_string).collect();
        if chords.is_empty() { "(unbound)".to_owned() } else { chords.join(" / ") }
    }

    /// The action's first key, for hover texts and buttons ("" when unbound).
    pub fn key_label(&self, action: Action) -> String {
        self.chords(action).first().map(Chord::to_string).unwrap_or_default()
    }

    /// What a judgment still needs, naming the keys as mapped; None when it can be submitted.
    pub fn missing_hint(&self, judging: &crate::judge::Judging) -> Option<String> {
        judging.missing()?;
        Some(if judging.is_pairwise() {
            format!(
                "choose a winner: {} left, {} right, {} tie, {} both bad",
                self.key_label(Action::LeftBetter),
                self.key_label(Action::RightBetter),
                self.key_label(Action::Tie),
                self.key_label(Action::BothBad)
            )
        } else {
            format!(
                "rank every response: press their keys ({} …) best first (Shift ties)",
                Action::RANKS.iter().take(judging.slots()).map(|a| self.key_label(*a)).collect::<Vec<_>>().join(" ")
            )
        })
    }

    /// Does this single unmodified key belong to an action of the 3D view? (The app uses it to warn
    /// when a task plugin's class hotkey collides.) Counts a Shift chord as taken by a step action
    /// on the bare key.
    pub fn binds(&self, chord: &Chord) -> Option<Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(|action| action.scope().in_view(crate::View::Scene))
            .find(|&action| self.chords(action).iter().any(|bound| chord.fires(bound, action.takes_shift())))
    }
}

/// One `[keys]` entry: a chord or a list of chords.
fn parse_binding(action: Action, value: &Spanned<DeValue<'_>>, origin: &Origin<'_>) -> Result<Vec<Chord>, String> {
    let id = action.id();
    let one = |value: &Spanned<DeValue<'_>>| -> Result<Chord, String> {
        match value.get_ref() {
            DeValue::String(text) => Chord::parse(text).map_err(|err| origin.at(&value.span(), format!("keys.{id}: {err}"))),
            other => {
                Err(origin.at(&value.span(), format!("keys.{id}: expected a key like \"Ctrl+Z\" or a list of them, found {}", other.type_str())))
            }
        }
    };
    match value.get_ref() {
        DeValue::Array(items) => {
            let mut chords = Vec::new();
            for item in items.iter() {
                let chord = one(item)?;
                if !chords.contains(&chord) {
                    chords.push(chord);
                }
            }
            Ok(chords)
        }
        _ => Ok(vec![one(value)?]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path() -> &'static Path {
        Path::new("/home/me/.config/cairn/keys.toml")
    }

    fn input(pressed: &[KeyCode]) -> ButtonInput<KeyCode> {
        let mut keys = ButtonInput::default();
        for &key in pressed {
            keys.press(key);
        }
        keys
    }

    #[test]
    fn all_lists_every_action_in_declaration_order() {
        for (i, action) in Action::ALL.iter().enumerate() {
            assert_eq!(*action as usize, i, "{action:?}");
            assert_eq!(Action::from_id(action.id()), Some(*action));
            assert!(!action.defaults().is_empty(), "{action:?} has no default");
        }
        assert_eq!(Action::ALL.last(), Some(&Action::Guidelines));
        assert_eq!(Action::AutoFit.id(), "auto_fit");
        assert_eq!(Action::CopyToNextFrame.id(), "copy_to_next_frame");
    }

    #[test]
    fn every_default_chord_round_trips_through_display() {
        let map = KeyMap::default();
        for &action in Action::ALL {
            for (text, chord) in action.defaults().iter().zip(map.chords(action)) {
                let parsed = Chord::parse(text).unwrap();
                assert_eq!(parsed, *chord);
                assert_eq!(parsed.to_string(), *text, "{action:?}");
                assert_eq!(Chord::parse(&parsed.to_string()).unwrap(), parsed);
            }
        }
    }

    #[test]
    fn every_key_name_round_trips() {
        for &(key, name) in KEY_NAMES {
            let chord = Chord::parse(&format!("ctrl+ALT+shift+{}", name.to_lowercase())).unwrap();
            assert_eq!(chord, Chord { ctrl: true, shift: true, alt: true, key });
            assert_eq!(Chord::parse(&chord.to_string()).unwrap(), chord);
        }
        assert_eq!(Chord::parse(".").unwrap().to_string(), "Period");
        assert_eq!(Chord::parse("Control + esc").unwrap().to_string(), "Ctrl+Escape");
        assert_eq!(Chord::parse("5").unwrap().key, KeyCode::Digit5);
    }

    #[test]
    fn parse_errors_name_the_bad_part() {
        let err = Chord::parse("Ctrl+Foo").unwrap_err();
        assert!(err.contains("unknown key \"Foo\""), "{err}");
        let err = Chord::parse("Super+A").unwrap_err();
        assert!(err.contains("unknown modifier \"Super\""), "{err}");
        let err = Chord::parse("Ctrl+Shift").unwrap_err();
        assert!(err.contains("no key"), "{err}");
        assert!(Chord::parse("").is_err());
        assert!(Chord::parse("Ctrl+").is_err());
        assert!(Chord::parse("Ctrl+Ctrl+A").is_err());
    }

    #[test]
    fn defaults_have_no_conflicts() {
        let map = KeyMap::from_toml("", path()).unwrap();
        assert_eq!(map.chords(Action::Redo), KeyMap::default().chords(Action::Redo));
        let map = KeyMap::from_toml("[keys]\n", path()).unwrap();
        assert_eq!(map.chords(Action::Help).len(), 2);
    }

    #[test]
    fn a_remap_replaces_only_that_actions_defaults() {
        let text = "# my keys\n[keys]\nauto_fit = \"G\"\nredo = [\"Ctrl+Y\"]\n";
        let map = KeyMap::from_toml(text, path()).unwrap();
        assert_eq!(map.chords(Action::AutoFit), &[Chord::key(KeyCode::KeyG)]);
        assert_eq!(map.chords(Action::Redo), &[Chord { ctrl: true, ..Chord::key(KeyCode::KeyY) }]);
        assert_eq!(map.chords(Action::Undo), &[Chord { ctrl: true, ..Chord::key(KeyCode::KeyZ) }]);
        assert_eq!(map.chords(Action::NewBox), &[Chord::key(KeyCode::Space)]);
        // F is free now.
        assert_eq!(map.binds(&Chord::key(KeyCode::KeyF)), None);
        assert_eq!(map.binds(&Chord::key(KeyCode::KeyG)), Some(Action::AutoFit));
    }

    #[test]
    fn an_empty_list_unbinds() {
        let map = KeyMap::from_toml("[keys]\nauto_fit = []\n", path()).unwrap();
        assert!(map.chords(Action::AutoFit).is_empty());
        assert_eq!(map.keys_of(Action::AutoFit), "(unbound)");
    }

    #[test]
    fn unknown_action_names_the_file_line_and_action() {
        let text = "[keys]\nauto_fit = \"G\"\nauto_fitt = \"H\"\n";
        let err = KeyMap::from_toml(text, path()).unwrap_err();
        assert!(err.starts_with("/home/me/.config/cairn/keys.toml:3: keys.auto_fitt: unknown action"), "{err}");
        assert!(err.contains("auto_fit, delete_box"), "{err}");
    }

    #[test]
    fn bad_key_name_names_the_line() {
        let text = "[keys]\n\nredo = [\n  \"Ctrl+Y\",\n  \"Ctrl+Yy\",\n]\n";
        let err = KeyMap::from_toml(text, path()).unwrap_err();
        assert!(err.starts_with("/home/me/.config/cairn/keys.toml:5: keys.redo: unknown key \"Yy\""), "{err}");
    }

    #[test]
    fn wrong_value_types_are_errors() {
        let err = KeyMap::from_toml("[keys]\nauto_fit = 7\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:2: keys.auto_fit: expected a key"), "{err}");
        let err = KeyMap::from_toml("[keys]\nredo = [\"Ctrl+Y\", true]\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:2: keys.redo: expected a key"), "{err}");
    }

    #[test]
    fn other_tables_and_bad_toml_are_errors() {
        let err = KeyMap::from_toml("[keys]\nauto_fit = \"G\"\n\n[mouse]\nspeed = 2\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:4: unknown table [mouse]"), "{err}");
        let err = KeyMap::from_toml("auto_fit = \"G\"\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:1: unknown entry \"auto_fit\""), "{err}");
        let err = KeyMap::from_toml("[keys]\nauto_fit = \"G\n", path()).unwrap_err();
        assert!(err.starts_with("/home/me/.config/cairn/keys.toml:2: "), "{err}");
    }

    #[test]
    fn a_conflict_names_both_actions() {
        let err = KeyMap::from_toml("[keys]\n\nauto_fit = \"Z\"\n", path()).unwrap_err();
        assert!(err.starts_with("/home/me/.config/cairn/keys.toml:3: keys.auto_fit: "), "{err}");
        assert!(err.contains("rotate_left"), "{err}");
        // Moving the other action too resolves it.
        let map = KeyMap::from_toml("[keys]\nauto_fit = \"Z\"\nrotate_left = \"G\"\n", path()).unwrap();
        assert_eq!(map.binds(&Chord::key(KeyCode::KeyZ)), Some(Action::AutoFit));
        // Both bound by the file: the later line is blamed.
        let err = KeyMap::from_toml("[keys]\nrotate_left = \"Z\"\nauto_fit = \"Z\"\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:3: keys.auto_fit: \"Z\" is also bound to rotate_left"), "{err}");
        let err = KeyMap::from_toml("[keys]\nauto_fit = \"Z\"\nrotate_left = \"Z\"\n", path()).unwrap_err();
        assert!(err.contains("keys.toml:3: keys.rotate_left: \"Z\" is also bound to auto_fit"), "{err}");
        // Shift+Up would move the box as well as doing the new action.
        let err = KeyMap::from_toml("[keys]\nnew_box = \"Shift+Up\"\n", path()).unwrap_err();
        assert!(err.contains("new_box") && err.contains("move_forward"), "{err}");
    }

    #[test]
    fn missing_file_is_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let map = KeyMap::load(&dir.path().join("keys.toml")).unwrap();
        assert_eq!(map.chords(Action::AutoFit), &[Chord::key(KeyCode::KeyF)]);
        let file = dir.path().join("mine.toml");
        std::fs::write(&file, "[keys]\nauto_fit = \"G\"\n").unwrap();
        assert_eq!(KeyMap::load(&file).unwrap().chords(Action::AutoFit), &[Chord::key(KeyCode::KeyG)]);
        std::fs::write(&file, "[keys]\nauto_fit = \"Z\"\n").unwrap();
        let err = KeyMap::load(&file).unwrap_err();
        assert!(err.starts_with(&format!("{}:2:", file.display())), "{err}");
    }

    #[test]
    fn just_pressed_needs_exactly_the_modifiers() {
        let map = KeyMap::default();
        let keys = input(&[KeyCode::ControlLeft, KeyCode::KeyZ]);
        assert!(map.just_pressed(Action::Undo, &keys));
        assert!(!map.just_pressed(Action::Redo, &keys));
        assert!(!map.just_pressed(Action::RotateLeft, &keys));

        let keys = input(&[KeyCode::ControlLeft, KeyCode::ShiftLeft, KeyCode::KeyZ]);
        assert!(map.just_pressed(Action::Redo, &keys));
        assert!(!map.just_pressed(Action::Undo, &keys));
        assert!(!map.just_pressed(Action::RotateLeft, &keys));

        let keys = input(&[KeyCode::ControlRight, KeyCode::KeyY]);
        assert!(map.just_pressed(Action::Redo, &keys));

        // Step actions take Shift for the fine step.
        let keys = input(&[KeyCode::ShiftRight, KeyCode::ArrowUp]);
        assert!(map.just_pressed(Action::MoveForward, &keys));
        assert!(!map.just_pressed(Action::Longer, &keys));
        let keys = input(&[KeyCode::ControlLeft, KeyCode::ShiftLeft, KeyCode::ArrowUp]);
        assert!(map.just_pressed(Action::Longer, &keys));
        assert!(!map.just_pressed(Action::MoveForward, &keys));

        // Alt is never ignored.
        let keys = input(&[KeyCode::AltLeft, KeyCode::KeyF]);
        assert!(!map.just_pressed(Action::AutoFit, &keys));
        // Nor is Shift on a non-step action.
        let keys = input(&[KeyCode::ShiftLeft, KeyCode::KeyF]);
        assert!(!map.just_pressed(Action::AutoFit, &keys));
    }

    #[test]
    fn held_keeps_firing_after_the_press() {
        let map = KeyMap::default();
        let mut keys = input(&[KeyCode::ShiftLeft, KeyCode::KeyW]);
        keys.clear();
        assert!(!map.just_pressed(Action::FlyForward, &keys));
        assert!(map.held(Action::FlyForward, &keys));
        assert!(!map.held(Action::FlyBack, &keys));
        keys.release(KeyCode::KeyW);
        assert!(!map.held(Action::FlyForward, &keys));
    }

    #[test]
    fn help_lists_every_action_once_in_its_views() {
        let map = KeyMap::default();
        let (scene, compare) = (map.help(crate::View::Scene), map.help(crate::View::Compare));
        // Switching views is listed in both; everything else in one.
        assert_eq!(scene.len() + compare.len(), Action::ALL.len() + 1);
        for help in [&scene, &compare] {
            for (keys, description) in help.iter() {
                assert_eq!(help.iter().filter(|(_, d)| d == description).count(), 1, "{description}");
                assert!(!keys.is_empty());
            }
        }
        let line = |help: &[(String, &str)], action: Action| help.iter().find(|(_, d)| *d == action.describe()).unwrap().0.clone();
        assert_eq!(line(&scene, Action::Redo), "Ctrl+Shift+Z / Ctrl+Y");
        assert_eq!(line(&scene, Action::Help), "H / F1");
        assert_eq!(line(&compare, Action::Flag), "F");
        assert!(!compare.iter().any(|(_, d)| *d == Action::AutoFit.describe()));
    }

    #[test]
    fn the_comparison_keys_remap_and_conflict_only_within_their_view() {
        // F flags in one view and fits in the other: no conflict.
        let map = KeyMap::from_toml("[keys]\nflag = \"B\"\nleft_better = \"J\"\n", path()).unwrap();
        assert_eq!(map.key_label(Action::Flag), "B");
        assert!(map.just_pressed(Action::LeftBetter, &input(&[KeyCode::KeyJ])));
        assert!(!map.just_pressed(Action::LeftBetter, &input(&[KeyCode::Digit1])));
        // Two comparison actions on one key are refused, naming both.
        let err = KeyMap::from_toml("[keys]\nskip = \"G\"\n", path()).unwrap_err();
        assert!(err.contains("skip") && err.contains("guidelines"), "{err}");
        // A ranking key and a pair key may share a digit (never both on screen), not a key of both.
        let err = KeyMap::from_toml("[keys]\nrank_1 = \"Enter\"\n", path()).unwrap_err();
        assert!(err.contains("rank_1") && err.contains("submit"), "{err}");
    }

    #[test]
    fn binds_finds_bare_keys_and_shifted_step_keys() {
        let map = KeyMap::default();
        assert_eq!(map.binds(&Chord::key(KeyCode::KeyF)), Some(Action::AutoFit));
        assert_eq!(map.binds(&Chord::key(KeyCode::Digit1)), None);
        assert_eq!(map.binds(&Chord { shift: true, ..Chord::key(KeyCode::KeyW) }), Some(Action::FlyForward));
        assert_eq!(map.binds(&Chord { shift: true, ..Chord::key(KeyCode::KeyF) }), None);
    }
}

#[cfg(test)]
mod documented {
    use super::*;

    /// The README's table of keys names every action by its config name, with its default keys.
    #[test]
    fn the_readme_lists_every_action() {
        let readme = include_str!("../../../README.md");
        for action in Action::ALL {
            assert!(readme.contains(&format!("`{}`", action.id())), "README lacks `{}`", action.id());
        }
    }
}
