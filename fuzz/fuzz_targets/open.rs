//! The lexer, object parser, xref and repair path: any bytes are opened as a document
//! and every page's dictionary and resources are walked (references resolved, streams
//! decoded with the engine's cap), without interpreting any content. It fails on a
//! panic and on one input taking more than 2 s.

#![no_main]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hayro_syntax::object::{Dict, Object, ObjectIdentifier};
use libfuzzer_sys::fuzz_target;
use worker::pdf::{Document, stream};

/// How deep the walk follows nested and referenced objects (a cycle must end).
const MAX_DEPTH: u32 = 12;
/// How many objects one input may visit, so a wide fan-out cannot stall the fuzzer.
const MAX_VISITS: u32 = 20_000;
/// The most bytes one stream may decode to here (smaller than the engine's cap, which
/// a decompression bomb would reach on every run).
const MAX_STREAM: usize = 1 << 20;

/// The walk's state: indirect objects already visited (each is walked, and each stream
/// decoded, once) and a count of everything visited.
#[derive(Default)]
struct Walk {
    seen: HashSet<ObjectIdentifier>,
    visits: u32,
}

impl Walk {
    /// False when `dict` is an indirect object walked before.
    fn first_time(&mut self, dict: &Dict<'_>) -> bool {
        dict.obj_id().is_none_or(|id| self.seen.insert(id))
    }

    fn dict(&mut self, dict: &Dict<'_>, depth: u32) {
        for key in dict.keys() {
            if let Some(obj) = dict.get::<Object<'_>>(key) {
                self.object(obj, depth + 1);
            }
        }
    }

    fn object(&mut self, obj: Object<'_>, depth: u32) {
        self.visits += 1;
        if depth > MAX_DEPTH || self.visits > MAX_VISITS {
            return;
        }
        match obj {
            Object::Dict(d) if self.first_time(&d) => self.dict(&d, depth),
            Object::Array(a) => {
                for item in a.iter::<Object<'_>>() {
                    self.object(item, depth + 1);
                    if self.visits > MAX_VISITS {
                        return;
                    }
                }
            }
            Object::Stream(s) if self.first_time(s.dict()) => {
                let _ = stream::decode(&s, MAX_STREAM);
                self.dict(s.dict(), depth);
            }
            _ => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let start = Instant::now();
    let mut buf = Arc::new(Vec::new());
    if let Ok(doc) = Document::open(data, &mut buf, None) {
        let mut walk = Walk::default();
        for page in doc.pages() {
            let _ = (page.media_box(), page.crop_box(), page.rotation());
            walk.dict(page.raw(), 0);
            let res = page.resources();
            for d in [
                &res.fonts,
                &res.x_objects,
                &res.ext_g_states,
                &res.color_spaces,
            ] {
                walk.dict(d, 0);
            }
            let mut content = stream::Buffer::default();
            stream::page_contents(page, MAX_STREAM, &mut content);
        }
    }
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
});
