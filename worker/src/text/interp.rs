//! The content-stream interpreter (ISO 32000-1 §8.2, §9.3-§9.4): follows the graphics
//! and text state just far enough to place every shown glyph, and hands the glyphs to
//! the [`TextBuilder`]. Paths, colours and images are skipped.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use hayro_syntax::object::{Dict, FromBytes, Name, ObjectIdentifier, Stream};
use hayro_syntax::page::Resources;

use super::content::{Item, Kind, Operand, Scanner};
use super::encoding;
use super::font::{Code, Font};
use super::layout::{GlyphPos, TextBuilder};
use crate::pdf::stream;

/// Form XObjects nest at most this deep (§8.10; real files rarely pass 3).
const MAX_FORM_DEPTH: usize = 12;
/// At most this many Form XObjects are run per page, so that a form drawn many times by
/// forms drawn many times cannot blow up.
const MAX_FORMS_PER_PAGE: u32 = 20_000;
/// At most this many operators are run per page; past it the page text is cut there.
const MAX_OPS_PER_PAGE: u64 = 50_000_000;
/// q without Q nests at most this deep; deeper saves are counted, not stored.
const MAX_SAVE_DEPTH: usize = 256;
/// The deadline is read every this many operators.
const DEADLINE_EVERY: u64 = 1024;

/// Why interpreting stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The deadline passed.
    Timeout,
    /// The page used up its operator or form budget: the text so far is kept.
    Budget,
}

/// An affine matrix [a b c d e f] (§8.3.3), row-vector convention: p' = p × M.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matrix {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    pub e: f64,
    pub f: f64,
}

impl Matrix {
    pub const IDENTITY: Matrix = Matrix {
        a: 1.0,
        b: 0.0,
        c: 0.0,
        d: 1.0,
        e: 0.0,
        f: 0.0,
    };

    fn from(v: [f64; 6]) -> Matrix {
        Matrix {
            a: v[0],
            b: v[1],
            c: v[2],
            d: v[3],
            e: v[4],
            f: v[5],
        }
    }

    /// self × other: apply `self` first, then `other`.
    fn then(&self, o: &Matrix) -> Matrix {
        Matrix {
            a: self.a * o.a + self.b * o.c,
            b: self.a * o.b + self.b * o.d,
            c: self.c * o.a + self.d * o.c,
            d: self.c * o.b + self.d * o.d,
            e: self.e * o.a + self.f * o.c + o.e,
            f: self.e * o.b + self.f * o.d + o.f,
        }
    }

    fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        (
            x * self.a + y * self.c + self.e,
            x * self.b + y * self.d + self.f,
        )
    }

    /// Translation by (tx, ty) in this matrix's input space: T(tx, ty) × self.
    fn pre_translate(&mut self, tx: f64, ty: f64) {
        self.e += tx * self.a + ty * self.c;
        self.f += tx * self.b + ty * self.d;
    }

    fn is_finite(&self) -> bool {
        [self.a, self.b, self.c, self.d, self.e, self.f]
            .iter()
            .all(|v| v.is_finite())
    }
}

/// The graphics state parts that matter for text (§8.4.1, text state §9.3.1).
#[derive(Debug, Clone)]
struct GState {
    ctm: Matrix,
    font: Option<Rc<Font>>,
    font_size: f64,
    char_spacing: f64,
    word_spacing: f64,
    h_scale: f64,
    leading: f64,
    rise: f64,
}

impl GState {
    fn new(ctm: Matrix) -> GState {
        GState {
            ctm,
            font: None,
            font_size: 0.0,
            char_spacing: 0.0,
            word_spacing: 0.0,
            h_scale: 1.0,
            leading: 0.0,
            rise: 0.0,
        }
    }
}

/// Fonts parsed so far in one document, by the identity of their dictionary bytes.
pub struct FontCache {
    map: HashMap<(usize, usize), Rc<Font>>,
    /// Fonts that are indirect objects, by object number: found without resolving
    /// (parsing) the font dictionary again.
    by_id: HashMap<ObjectIdentifier, Rc<Font>>,
    fallback: Rc<Font>,
}

impl Default for FontCache {
    fn default() -> Self {
        FontCache {
            map: HashMap::new(),
            by_id: HashMap::new(),
            fallback: Rc::new(Font::fallback()),
        }
    }
}

impl FontCache {
    pub fn clear(&mut self) {
        self.map.clear();
        self.by_id.clear();
    }

    fn get(&mut self, dict: &Dict<'_>) -> Rc<Font> {
        // The dictionary's bytes live as long as the document (in the file or in a
        // decoded object stream hayro-syntax keeps), so their address identifies it.
        let data = dict.data();
        let key = (data.as_ptr() as usize, data.len());
        self.map
            .entry(key)
            .or_insert_with(|| Rc::new(Font::load(dict)))
            .clone()
    }
}

/// At most this many bytes of decoded Form XObjects are kept per document; forms past
/// it are decoded at each use.
pub const MAX_CACHED_FORMS: usize = 8 << 20;
/// At most this many XObjects are remembered per document (forms or not).
const MAX_FORM_ENTRIES: usize = 1 << 16;

/// What the interpreter keeps from one document to the next: its scratch buffers, and
/// the fonts of the current document (cleared by [`Cache::end_document`]).
#[derive(Default)]
pub struct Cache {
    pub fonts: FontCache,
    /// The font each name of a font resource dictionary (by the identity of its bytes,
    /// as [`FontCache`]) stands for: `Tf` resolves a name once per document.
    font_names: HashMap<(usize, usize), NamedFonts>,
    /// The fonts of the font resource dictionary used last, taken out of `font_names`
    /// while they are: the `Tf` of a content stream name fonts of one dictionary, found
    /// this way without hashing its key at every `Tf` (issue 11: the hashing was 0.8% of
    /// the instructions of a pass).
    current_names: Option<((usize, usize), NamedFonts)>,
    /// One set of buffers per form nesting level in use.
    frames: Vec<Frame>,
    form_stack: Vec<ObjectIdentifier>,
    glyph_text: String,
}

impl Cache {
    /// Forgets the document: no font or form of it may serve the next one.
    pub fn end_document(&mut self) {
        self.fonts.clear();
        self.font_names.clear();
        self.current_names = None;
        self.form_stack.clear();
    }

    /// The fonts named so far in the font resource dictionary `key` (see
    /// `current_names`).
    fn names_of(&mut self, key: (usize, usize)) -> &mut NamedFonts {
        if self.current_names.as_ref().is_none_or(|(k, _)| *k != key) {
            let names = self.font_names.remove(&key).unwrap_or_default();
            if let Some((k, old)) = self.current_names.replace((key, names)) {
                self.font_names.insert(k, old);
            }
        }
        let (_, names) = self.current_names.get_or_insert_with(|| (key, Vec::new()));
        names
    }
}

/// The fonts of one font resource dictionary looked up so far, by name.
type NamedFonts = Vec<(Vec<u8>, Rc<Font>)>;

/// The buffers of one content stream run, kept for the next.
#[derive(Default)]
struct Frame {
    operands: Vec<Operand>,
    saved: Vec<GState>,
    marked: Vec<Marked>,
    string: Vec<u8>,
}

/// One marked-content sequence (§14.6) and its /ActualText, if any (§14.9.4).
struct Marked {
    actual_text: Option<String>,
    emitted: bool,
}

/// A Form XObject of the document as first resolved (§8.10.1): decoded content (`None`
/// when it cannot be decoded, or when it was past the cache's budget), matrix and
/// resources.
struct Form<'d> {
    content: Option<Rc<Vec<u8>>>,
    matrix: Option<[f64; 6]>,
    resources: Option<Resources<'d>>,
}

/// Interprets the content streams of the pages of one document (`'d`), one page after
/// the other: fonts and Form XObjects are resolved and decoded once.
pub struct Interpreter<'c, 'd> {
    cache: &'c mut Cache,
    out: &'c mut TextBuilder,
    deadline: Option<Instant>,
    /// Forms by object number; `None` for an XObject that is not a form.
    forms: HashMap<ObjectIdentifier, Option<Rc<Form<'d>>>>,
    form_bytes: usize,
    /// Operators and forms run on this page (budgets per page).
    ops: u64,
    forms_run: u32,
    /// Glyphs entirely outside this box (x0, y0, x1, y1) are dropped.
    clip: Option<[f64; 4]>,
}

/// The last (up to) six numeric operands of an operator, in order, and how many.
fn numbers(s: &Scanner<'_>) -> ([f64; 6], usize) {
    let mut nums = [0f64; 6];
    let mut n = 0usize;
    for o in s.operands() {
        if let Some(x) = s.number(o) {
            if n == 6 {
                nums.copy_within(1.., 0);
                n = 5;
            }
            nums[n] = x;
            n += 1;
        }
    }
    (nums, n)
}

/// Operand `i` of the last `of` numbers, when there are that many and it is finite.
fn num(nums: &([f64; 6], usize), i: usize, of: usize) -> Option<f64> {
    let (nums, n) = nums;
    if *n >= of {
        Some(nums[n - of + i]).filter(|v| v.is_finite())
    } else {
        None
    }
}

/// The first operand of `kind`.
fn first(s: &Scanner<'_>, kind: Kind) -> Option<Operand> {
    s.operands().iter().find(|o| o.kind == kind).copied()
}

impl<'c, 'd> Interpreter<'c, 'd> {
    pub fn new(cache: &'c mut Cache, out: &'c mut TextBuilder, deadline: Option<Instant>) -> Self {
        cache.form_stack.clear();
        Interpreter {
            cache,
            out,
            deadline,
            forms: HashMap::new(),
            form_bytes: 0,
            ops: 0,
            forms_run: 0,
            clip: None,
        }
    }

    /// Moves the deadline checked while pages run.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.deadline = deadline;
    }

    /// Drops glyphs entirely outside the page's media box, as MuPDF does: printer's marks
    /// and job tickets parked off the page (pdfminer__i1040nr) are not page text. Set per
    /// page (until then, or when the box is unusable, nothing is dropped).
    pub fn clip_to(&mut self, media_box: [f64; 4]) {
        let [x0, y0, x1, y1] = media_box;
        let b = [x0.min(x1), y0.min(y1), x0.max(x1), y0.max(y1)];
        self.clip = (b.iter().all(|v| v.is_finite()) && b[2] > b[0] && b[3] > b[1]).then_some(b);
    }

    /// The text of the page last run.
    pub fn page_text(&mut self) -> &str {
        self.out.finish()
    }

    fn outside(&self, g: &GlyphPos) -> bool {
        let Some([x0, y0, x1, y1]) = self.clip else {
            return false;
        };
        // The glyph's box holds its origin: an origin inside the clip box is enough (the
        // usual case, answered without the corners).
        if (x0..=x1).contains(&g.origin.0) && (y0..=y1).contains(&g.origin.1) {
            return false;
        }
        // The glyph's box: its advance, and one em up from the baseline.
        let up = (-g.dir.1 * g.size, g.dir.0 * g.size);
        let xs = [g.origin.0, g.end.0, g.origin.0 + up.0, g.end.0 + up.0];
        let ys = [g.origin.1, g.end.1, g.origin.1 + up.1, g.end.1 + up.1];
        let (gx0, gx1) = (
            xs.iter().copied().fold(f64::MAX, f64::min),
            xs.iter().copied().fold(f64::MIN, f64::max),
        );
        let (gy0, gy1) = (
            ys.iter().copied().fold(f64::MAX, f64::min),
            ys.iter().copied().fold(f64::MIN, f64::max),
        );
        gx1 < x0 || gx0 > x1 || gy1 < y0 || gy0 > y1
    }

    /// Runs a page's content stream with its resources; its text is then
    /// [`Interpreter::page_text`].
    pub fn run_page(&mut self, content: &[u8], resources: &Resources<'d>) -> Result<(), Stop> {
        self.out.clear();
        self.ops = 0;
        self.forms_run = 0;
        self.cache.form_stack.clear();
        self.run(content, resources, GState::new(Matrix::IDENTITY), 0)
    }

    /// Runs an annotation's appearance stream, a form XObject, placed on the page by
    /// `matrix` (see [`super::annots`]), after the page's content; without resources of
    /// its own it uses the page's.
    pub fn run_appearance(
        &mut self,
        form: &Stream<'d>,
        matrix: [f64; 6],
        page_resources: &Resources<'d>,
    ) -> Result<(), Stop> {
        self.forms_run += 1;
        if self.forms_run > MAX_FORMS_PER_PAGE {
            return Err(Stop::Budget);
        }
        let Some(content) = stream::decode(form, stream::MAX_DECODED) else {
            return Ok(());
        };
        let own;
        let res = match form.dict().get::<Dict<'d>>(b"Resources") {
            Some(d) => {
                own = Resources::new(d);
                &own
            }
            None => page_resources,
        };
        self.run(&content, res, GState::new(Matrix::from(matrix)), 1)
    }

    /// Runs one content stream with the buffers of its nesting level.
    fn run(
        &mut self,
        content: &[u8],
        res: &Resources<'d>,
        initial: GState,
        depth: usize,
    ) -> Result<(), Stop> {
        let mut frame = self.cache.frames.pop().unwrap_or_default();
        let result = self.run_with(content, res, initial, depth, &mut frame);
        frame.saved.clear();
        frame.marked.clear();
        self.cache.frames.push(frame);
        result
    }

    fn run_with(
        &mut self,
        content: &[u8],
        res: &Resources<'d>,
        initial: GState,
        depth: usize,
        frame: &mut Frame,
    ) -> Result<(), Stop> {
        let mut gs = initial;
        let saved = &mut frame.saved;
        let marked = &mut frame.marked;
        let buf = &mut frame.string;
        saved.clear();
        marked.clear();
        let mut unsaved_depth = 0usize;
        let mut tm = Matrix::IDENTITY;
        let mut tlm = Matrix::IDENTITY;

        let mut s = Scanner::new(content, std::mem::take(&mut frame.operands));
        let result = loop {
            let Some(op) = s.next_operator() else {
                break Ok(());
            };
            self.ops += 1;
            if self.ops.is_multiple_of(DEADLINE_EVERY)
                && let Some(d) = self.deadline
                && Instant::now() >= d
            {
                break Err(Stop::Timeout);
            }
            if self.ops > MAX_OPS_PER_PAGE {
                break Err(Stop::Budget);
            }
            match op {
                b"BT" => {
                    tm = Matrix::IDENTITY;
                    tlm = Matrix::IDENTITY;
                }
                b"q" => {
                    if saved.len() < MAX_SAVE_DEPTH {
                        saved.push(gs.clone());
                    } else {
                        unsaved_depth += 1;
                    }
                }
                b"Q" => {
                    if unsaved_depth > 0 {
                        unsaved_depth -= 1;
                    } else if let Some(s) = saved.pop() {
                        gs = s;
                    }
                }
                b"cm" => {
                    // Exactly the last six numbers.
                    let (nums, n) = numbers(&s);
                    if n == 6 {
                        let ctm = Matrix::from(nums).then(&gs.ctm);
                        if ctm.is_finite() {
                            gs.ctm = ctm;
                        }
                    }
                }
                b"Tf" => {
                    if let Some(size) = num(&numbers(&s), 0, 1) {
                        gs.font_size = size;
                    }
                    if let Some(name) = first(&s, Kind::Name).and_then(|o| s.name(&o)) {
                        gs.font = Some(self.font(res, &name));
                    }
                }
                // An ExtGState may set the font (§8.4.5, Table 58: /Font [font size]).
                b"gs" => {
                    let state = s
                        .operands()
                        .iter()
                        .filter_map(|o| s.name(o))
                        .find_map(|n| res.ext_g_states.get::<Dict<'_>>(&*n));
                    if let Some(font) =
                        state.and_then(|d| d.get::<hayro_syntax::object::Array<'_>>(b"Font"))
                    {
                        // Read in order: the array mixes a dictionary and a number, and a
                        // typed iterator of either stops at the first of the other type.
                        let mut items = font.flex_iter();
                        if let Some(dict) = items.next::<Dict<'_>>() {
                            gs.font = Some(self.cache.fonts.get(&dict));
                            if let Some(size) = items.next::<f64>().filter(|v| v.is_finite()) {
                                gs.font_size = size;
                            }
                        }
                    }
                }
                b"Tc" | b"Tw" | b"Tz" | b"TL" | b"Ts" => {
                    if let Some(v) = num(&numbers(&s), 0, 1) {
                        match op {
                            b"Tc" => gs.char_spacing = v,
                            b"Tw" => gs.word_spacing = v,
                            b"Tz" => gs.h_scale = v / 100.0,
                            b"TL" => gs.leading = v,
                            _ => gs.rise = v,
                        }
                    }
                }
                b"Td" | b"TD" => {
                    let nums = numbers(&s);
                    if let (Some(tx), Some(ty)) = (num(&nums, 0, 2), num(&nums, 1, 2)) {
                        if op == b"TD" {
                            gs.leading = -ty;
                        }
                        tlm.pre_translate(tx, ty);
                        tm = tlm;
                    }
                }
                b"Tm" => {
                    let (nums, n) = numbers(&s);
                    let m = Matrix::from(nums);
                    if n == 6 && m.is_finite() {
                        tlm = m;
                        tm = m;
                    }
                }
                b"T*" => {
                    tlm.pre_translate(0.0, -gs.leading);
                    tm = tlm;
                }
                b"Tj" | b"'" | b"\"" => {
                    if op == b"\"" {
                        let nums = numbers(&s);
                        if let (Some(aw), Some(ac)) = (num(&nums, 0, 2), num(&nums, 1, 2)) {
                            gs.word_spacing = aw;
                            gs.char_spacing = ac;
                        }
                    }
                    if op != b"Tj" {
                        tlm.pre_translate(0.0, -gs.leading);
                        tm = tlm;
                    }
                    let string = s
                        .operands()
                        .iter()
                        .find(|o| matches!(o.kind, Kind::Literal | Kind::Hex))
                        .copied();
                    if let Some(bytes) = string.and_then(|o| s.string(&o, buf)) {
                        self.show(bytes, &gs, &mut tm, marked);
                    }
                }
                b"TJ" => {
                    if let Some(arr) = first(&s, Kind::Array) {
                        for item in s.items(&arr) {
                            match item {
                                Item::Number(x) => {
                                    let adj = -x / 1000.0 * gs.font_size;
                                    if adj.is_finite() {
                                        if gs.font.as_ref().is_some_and(|f| f.is_vertical()) {
                                            tm.pre_translate(0.0, adj);
                                        } else {
                                            tm.pre_translate(adj * gs.h_scale, 0.0);
                                        }
                                    }
                                }
                                Item::String(..) => {
                                    if let Some(bytes) = item.bytes(buf) {
                                        self.show(bytes, &gs, &mut tm, marked);
                                    }
                                }
                                Item::Other => {}
                            }
                        }
                    }
                }
                b"BMC" => marked.push(Marked {
                    actual_text: None,
                    emitted: false,
                }),
                b"BDC" => {
                    let actual_text = s.operands().iter().find_map(|o| match o.kind {
                        Kind::Dict => {
                            let raw = s.raw(o);
                            // Most are `<< /MCID n >>`: parsed only when they can hold it.
                            memchr::memmem::find(raw, b"ActualText")?;
                            actual_text(&Dict::from_bytes(raw)?)
                        }
                        Kind::Name => res
                            .properties
                            .get::<Dict<'_>>(&*s.name(o)?)
                            .and_then(|d| actual_text(&d)),
                        _ => None,
                    });
                    if marked.len() < 1024 {
                        marked.push(Marked {
                            actual_text,
                            emitted: false,
                        });
                    }
                }
                b"EMC" => {
                    marked.pop();
                }
                b"Do" => {
                    if let Some(name) = first(&s, Kind::Name).and_then(|o| s.name(&o))
                        && let Err(stop) = self.form(res, &name, &gs, depth)
                    {
                        break Err(stop);
                    }
                }
                _ => {}
            }
        };
        frame.operands = s.into_stack();
        result
    }

    /// The font resource `name` (the fallback when there is none).
    fn font(&mut self, res: &Resources<'d>, name: &[u8]) -> Rc<Font> {
        let data = res.fonts.data();
        let key = (data.as_ptr() as usize, data.len());
        if let Some((_, f)) = self.cache.names_of(key).iter().find(|(n, _)| n == name) {
            return f.clone();
        }
        let id = res.fonts.get_ref(name).map(ObjectIdentifier::from);
        let known = id.and_then(|id| self.cache.fonts.by_id.get(&id).cloned());
        let font = match known {
            Some(font) => font,
            None => match res.fonts.get::<Dict<'_>>(name) {
                Some(d) => {
                    let font = self.cache.fonts.get(&d);
                    if let Some(id) = id {
                        self.cache.fonts.by_id.insert(id, font.clone());
                    }
                    font
                }
                None => self.cache.fonts.fallback.clone(),
            },
        };
        // Bounded: a resource dictionary names a few fonts; past that names are looked up
        // at each use.
        let names = self.cache.names_of(key);
        if names.len() < 256 {
            names.push((name.to_vec(), font.clone()));
        }
        font
    }

    /// Runs a Form XObject (§8.10): its own matrix and resources, in a saved state.
    fn form(
        &mut self,
        res: &Resources<'d>,
        name: &[u8],
        gs: &GState,
        depth: usize,
    ) -> Result<(), Stop> {
        if depth >= MAX_FORM_DEPTH {
            return Ok(());
        }
        let id = match res.x_objects.get_ref(name) {
            Some(r) => ObjectIdentifier::from(r),
            // A direct stream cannot be: streams are indirect objects (§7.3.8).
            None => return Ok(()),
        };
        if self.cache.form_stack.contains(&id) {
            return Ok(());
        }
        let form = match self.forms.get(&id) {
            Some(known) => known.clone(),
            None => {
                let form = self.resolve_form(res, name);
                // Bounded: a file of millions of XObjects must not fill memory with
                // entries; past this many they are resolved at each use.
                if self.forms.len() < MAX_FORM_ENTRIES {
                    self.forms.insert(id, form.clone());
                }
                form
            }
        };
        let Some(form) = form else {
            return Ok(());
        };
        self.forms_run += 1;
        if self.forms_run > MAX_FORMS_PER_PAGE {
            return Err(Stop::Budget);
        }
        // Past the cache's budget the content is decoded at each use.
        let content = match &form.content {
            Some(c) => c.clone(),
            None => match res
                .x_objects
                .get::<Stream<'_>>(name)
                .and_then(|s| stream::decode(&s, stream::MAX_DECODED))
            {
                Some(c) => Rc::new(c.into_owned()),
                None => return Ok(()),
            },
        };
        let mut inner = gs.clone();
        if let Some(m) = form.matrix {
            let m = Matrix::from(m).then(&gs.ctm);
            if m.is_finite() {
                inner.ctm = m;
            }
        }
        let form_res = form.resources.as_ref().unwrap_or(res);
        self.cache.form_stack.push(id);
        let r = self.run(&content, form_res, inner, depth + 1);
        self.cache.form_stack.pop();
        r
    }

    /// XObject `name` of `res`, when it is a form: decoded (kept while the document's
    /// forms stay within [`MAX_CACHED_FORMS`]), with its matrix and resources.
    fn resolve_form(&mut self, res: &Resources<'d>, name: &[u8]) -> Option<Rc<Form<'d>>> {
        let stream = res.x_objects.get::<Stream<'d>>(name)?;
        let dict = stream.dict();
        if dict
            .get::<Name<'_>>(b"Subtype")
            .is_none_or(|s| s.as_ref() != b"Form")
        {
            return None;
        }
        let content = stream::decode(&stream, stream::MAX_DECODED).map(|d| d.into_owned());
        let size = content.as_ref().map_or(0, Vec::len);
        let content = if self.form_bytes + size <= MAX_CACHED_FORMS {
            self.form_bytes += size;
            Some(Rc::new(content.unwrap_or_default()))
        } else {
            None
        };
        Some(Rc::new(Form {
            content,
            matrix: dict.get::<[f64; 6]>(b"Matrix"),
            resources: dict.get::<Dict<'d>>(b"Resources").map(Resources::new),
        }))
    }

    /// Shows a string (§9.4.3): places each glyph and advances the text matrix.
    fn show(&mut self, bytes: &[u8], gs: &GState, tm: &mut Matrix, marked: &mut [Marked]) {
        let font = gs
            .font
            .clone()
            .unwrap_or_else(|| self.cache.fonts.fallback.clone());
        let fs = gs.font_size;
        let th = gs.h_scale;
        let vertical = font.is_vertical();
        let m = tm.then(&gs.ctm);
        let size = fs.abs() * font.size_scale as f64 * length(m.c, m.d);
        let dir = if vertical { (-m.c, -m.d) } else { (m.a, m.b) };
        let len = length(dir.0, dir.1);
        let dir = if len > 0.0 && len.is_finite() {
            (dir.0 / len, dir.1 / len)
        } else {
            (1.0, 0.0)
        };
        // The active /ActualText replaces the glyphs' own text (§14.9.4).
        let actual = marked.iter_mut().rev().find(|m| m.actual_text.is_some());
        let mut actual = actual;

        let mut pos = 0usize;
        let mut adv = 0.0f64; // along x (or y for vertical), in text space
        while pos < bytes.len() {
            // A simple font's code is one byte, its text and advance worked out at load.
            let (code, w, known) = match font.glyph(bytes[pos]) {
                Some((text, w)) => (
                    Code {
                        code: u32::from(bytes[pos]),
                        len: 1,
                    },
                    w,
                    Some(text),
                ),
                None => {
                    let code = font.next_code(&bytes[pos..]);
                    (code, font.width(code), None)
                }
            };
            pos += (code.len as usize).max(1);
            let w = w as f64;
            let is_space = code.len == 1 && code.code == 32;
            let spacing = gs.char_spacing + if is_space { gs.word_spacing } else { 0.0 };
            let (origin, end, step) = if vertical {
                let glyph = -fs; // default vertical advance: one em downwards (§9.7.4.3)
                (
                    m.apply(0.0, adv),
                    m.apply(0.0, adv + glyph),
                    glyph - spacing,
                )
            } else {
                let glyph = w * fs * th;
                (
                    m.apply(adv, gs.rise),
                    m.apply(adv + glyph, gs.rise),
                    (w * fs + spacing) * th,
                )
            };
            let g = GlyphPos {
                origin,
                end,
                dir,
                size,
            };
            if self.outside(&g) {
                if step.is_finite() {
                    adv += step;
                }
                continue;
            }
            match actual.as_deref_mut() {
                Some(Marked {
                    actual_text: Some(t),
                    emitted,
                }) => {
                    if *emitted {
                        self.out.push("", &g);
                    } else {
                        *emitted = true;
                        self.out.push(t, &g);
                    }
                }
                _ => {
                    let text = match known {
                        Some(text) => text,
                        None => {
                            let text = &mut self.cache.glyph_text;
                            text.clear();
                            // As for simple fonts (Font::glyph): a drawn glyph whose
                            // text is unknown is U+FFFD.
                            if !font.push_text(code, text) && w > 0.0 {
                                text.push('\u{FFFD}');
                            }
                            text.as_str()
                        }
                    };
                    self.out.push(text, &g);
                }
            }
            if step.is_finite() {
                adv += step;
            }
        }
        if vertical {
            tm.pre_translate(0.0, adv);
        } else {
            tm.pre_translate(adv, 0.0);
        }
    }
}

/// The length of (x, y): `hypot`, which guards against overflow, only where squaring
/// could overflow or underflow (it costs several times the square root).
fn length(x: f64, y: f64) -> f64 {
    let (ax, ay) = (x.abs(), y.abs());
    if (1e-150..1e150).contains(&ax.max(ay)) {
        (x * x + y * y).sqrt()
    } else {
        x.hypot(y)
    }
}

fn actual_text(d: &Dict<'_>) -> Option<String> {
    let s = d.get::<hayro_syntax::object::String<'_>>(b"ActualText")?;
    Some(encoding::text_string(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(content: &[u8]) -> String {
        let mut fonts = Cache::default();
        let mut out = TextBuilder::default();
        let res = Resources::new(Dict::empty());
        Interpreter::new(&mut fonts, &mut out, None)
            .run_page(content, &res)
            .unwrap();
        out.finish().to_string()
    }

    #[test]
    fn shows_text_with_moves_and_kerning() {
        // No font resource: the fallback (Helvetica metrics) is used.
        let t = run(b"BT /F1 12 Tf 72 700 Td (Hello ) Tj [(W) 80 (orld)] TJ 0 -14 Td (Next) Tj ET");
        assert_eq!(t, "Hello World\nNext");
    }

    #[test]
    fn big_tj_gap_is_a_space() {
        let t = run(b"BT /F1 10 Tf [(one)-300(two)] TJ ET");
        assert_eq!(t, "one two");
    }

    #[test]
    fn quote_operators_move_to_the_next_line() {
        let t = run(b"BT /F 10 Tf 12 TL 0 700 Td (a) Tj (b) ' 1 2 (c) \" ET");
        assert_eq!(t, "a\nb\nc");
    }

    #[test]
    fn actual_text_replaces_glyphs() {
        let t = run(b"BT /F 10 Tf /Span << /ActualText (fi) >> BDC (XY) Tj EMC (x) Tj ET");
        assert_eq!(t, "fix");
    }

    #[test]
    fn ext_g_state_sets_the_font() {
        use hayro_syntax::object::FromBytes;
        let mut fonts = Cache::default();
        let mut out = TextBuilder::default();
        let res = Dict::from_bytes(
            b"<< /ExtGState << /GS1 << /Font [<< /Subtype /Type1 /BaseFont /Courier \
              /Encoding << /Differences [65 /B] >> >> 10] >> >> >>",
        )
        .unwrap();
        let res = Resources::new(res);
        Interpreter::new(&mut fonts, &mut out, None)
            .run_page(b"BT /GS1 gs (AA) Tj ET", &res)
            .unwrap();
        assert_eq!(out.finish(), "BB");
    }

    #[test]
    fn ext_g_state_sets_the_font_size() {
        // B is drawn 0.2 em after A ends at size 10: a word space. Were the size left at 0,
        // every gap would be wider than any em: a new line.
        use hayro_syntax::object::FromBytes;
        let page = |size: &str| {
            let mut fonts = Cache::default();
            let mut out = TextBuilder::default();
            let res = format!(
                "<< /ExtGState << /GS1 << /Font [<< /Subtype /Type1 /BaseFont /Courier >> \
                 {size}] >> >> >>"
            );
            let res = Resources::new(Dict::from_bytes(res.as_bytes()).unwrap());
            Interpreter::new(&mut fonts, &mut out, None)
                .run_page(
                    b"BT /GS1 gs 1 0 0 1 100 700 Tm (A) Tj 8 0 Td (B) Tj ET",
                    &res,
                )
                .unwrap();
            out.finish().to_string()
        };
        assert_eq!(page("10"), "A B");
        assert_eq!(page("0"), "A\nB");
    }

    #[test]
    fn unknown_glyphs_are_replacement_characters() {
        // pdfpig__MOZILLA-10372-2: the fi ligature at code 28, named /a28.
        use hayro_syntax::object::FromBytes;
        let mut fonts = Cache::default();
        let mut out = TextBuilder::default();
        let res = Dict::from_bytes(
            b"<< /Font << /T3 << /Subtype /Type3 /FontMatrix [0.01 0 0 0.01 0 0] \
              /FirstChar 28 /LastChar 28 /Widths [50] \
              /Encoding << /Differences [28 /a28] >> >> >> >>",
        )
        .unwrap();
        let res = Resources::new(res);
        Interpreter::new(&mut fonts, &mut out, None)
            .run_page(b"BT /T3 10 Tf (identi\\034cation) Tj ET", &res)
            .unwrap();
        assert_eq!(out.finish(), "identi\u{FFFD}cation");
    }

    #[test]
    fn glyphs_off_the_media_box_are_dropped() {
        // pdfminer__i1040nr: a job ticket (USERID DTD ...) set beside the page.
        let mut fonts = Cache::default();
        let mut out = TextBuilder::default();
        let res = Resources::new(Dict::empty());
        let mut interp = Interpreter::new(&mut fonts, &mut out, None);
        interp.clip_to([0.0, 0.0, 612.0, 792.0]);
        interp
            .run_page(
                b"BT /F 10 Tf 700 700 Td (USERID) Tj -690 0 Td (Page) Tj 0 100 Td (x) Tj ET",
                &res,
            )
            .unwrap();
        assert_eq!(out.finish(), "Page");
    }

    #[test]
    fn garbage_content_does_not_panic() {
        for c in [
            &b"BT ET Q Q Q cm Tm Td TJ Tj ' \" Tf Do EMC"[..],
            b"BT 1e400 0 0 1e400 0 0 Tm (x) Tj ET",
            b"[ [ [ ( (",
            b"q q q 1 0 0 1 0 0 cm Q",
            b"BT /F 0 Tf 0 Tz (abc) Tj [(a) 1e308 (b)] TJ ET",
        ] {
            let _ = run(c);
        }
    }
}
