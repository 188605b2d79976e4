//! From content streams to text: the interpreter ([`interp`]), annotations' appearance
//! streams ([`annots`]), fonts ([`font`]), CMaps
//! ([`cmap`]), encodings and glyph names ([`encoding`]), and the line/space heuristics
//! ([`layout`]).

pub mod annots;
#[rustfmt::skip]
mod cjk;
pub mod cmap;
pub mod content;
pub mod encoding;
pub mod font;
pub mod interp;
pub mod layout;
pub mod program;
#[rustfmt::skip]
mod tables;
pub mod truetype;
