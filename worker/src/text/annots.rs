//! The text of annotations and form fields, drawn by their appearance streams
//! (ISO 32000-1 §12.5.5) after the page's own content.
//!
//! Which ones, and in what order, is what MuPDF 1.28 (our reference) does, as measured on
//! probe documents: every annotation with a normal appearance (/AP /N, a stream, or a
//! dictionary picked from by /AS) except links and pop-ups, the ones flagged Invisible,
//! Hidden or NoView (§12.5.3) left out; form fields (widgets) only when they belong to a
//! field, with a type and a name (/FT and /T, inherited, §12.7.3.1); first all other
//! annotations in /Annots order, then the widgets. Appearances MuPDF would make up for
//! annotations that have none (a text field's value, a FreeText's contents) are not
//! made here.

use hayro_syntax::object::{Array, Dict, Name, Object, Stream};
use hayro_syntax::page::Page;

use super::interp::{Interpreter, Stop};

/// At most this many annotations are read per page.
const MAX_ANNOTATIONS: usize = 4096;
/// A field's /Parent chain is followed at most this far.
const MAX_FIELD_DEPTH: usize = 32;

/// Annotation flags that keep it off the page (§12.5.3, Table 165): Invisible, Hidden,
/// NoView.
const NOT_SHOWN: i64 = 1 | 2 | 32;

/// Runs the appearance streams of the page's annotations through `interp`.
pub fn run_annotations<'d>(interp: &mut Interpreter<'_, 'd>, page: &Page<'d>) -> Result<(), Stop> {
    let Some(annots) = page.raw().get::<Array<'d>>(b"Annots") else {
        return Ok(());
    };
    // Widgets come after the others: kept for a second round (each annotation is read
    // once; pages of links have thousands).
    let mut widgets = Vec::new();
    for annot in annots.iter::<Dict<'d>>().take(MAX_ANNOTATIONS) {
        let subtype = annot.get::<Name<'_>>(b"Subtype");
        let subtype = subtype.as_deref().unwrap_or(b"");
        if subtype == b"Link" || subtype == b"Popup" {
            continue;
        }
        if annot.get::<i64>(b"F").unwrap_or(0) & NOT_SHOWN != 0 {
            continue;
        }
        if subtype == b"Widget" {
            if is_field(&annot) {
                widgets.push(annot);
            }
            continue;
        }
        run_one(interp, page, &annot)?;
    }
    for widget in &widgets {
        run_one(interp, page, widget)?;
    }
    Ok(())
}

/// Runs one annotation's normal appearance, if it has one and a rectangle.
fn run_one<'d>(
    interp: &mut Interpreter<'_, 'd>,
    page: &Page<'d>,
    annot: &Dict<'d>,
) -> Result<(), Stop> {
    let (Some(form), Some(rect)) = (appearance(annot), annot.get::<[f64; 4]>(b"Rect")) else {
        return Ok(());
    };
    match placement(&form, rect) {
        Some(matrix) => interp.run_appearance(&form, matrix, page.resources()),
        None => Ok(()),
    }
}

/// Whether a widget belongs to a field with a type and a name (either inherited).
fn is_field(widget: &Dict<'_>) -> bool {
    let (mut typed, mut named) = (false, false);
    let mut node = Some(widget.clone());
    for _ in 0..MAX_FIELD_DEPTH {
        let Some(d) = node else { break };
        typed |= d.contains_key(b"FT");
        named |= d.contains_key(b"T");
        if typed && named {
            return true;
        }
        node = d.get::<Dict<'_>>(b"Parent");
    }
    false
}

/// The normal appearance (§12.5.5): /AP /N, or the entry /AS names in it.
fn appearance<'a>(annot: &Dict<'a>) -> Option<Stream<'a>> {
    match annot.get::<Dict<'a>>(b"AP")?.get::<Object<'a>>(b"N")? {
        Object::Stream(s) => Some(s),
        Object::Dict(states) => states.get::<Stream<'a>>(annot.get::<Name<'_>>(b"AS")?.as_ref()),
        _ => None,
    }
}

/// The matrix from the appearance's form space to the page (§12.5.5, Algorithm 8.1): the
/// form's /BBox, transformed by its /Matrix, is fitted to the annotation's /Rect.
fn placement(form: &Stream<'_>, rect: [f64; 4]) -> Option<[f64; 6]> {
    let dict = form.dict();
    let [a, b, c, d, e, f] = dict
        .get::<[f64; 6]>(b"Matrix")
        .unwrap_or([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
    let [x0, y0, x1, y1] = dict.get::<[f64; 4]>(b"BBox")?;
    let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
        .map(|(x, y)| (a * x + c * y + e, b * x + d * y + f));
    let (mut bx0, mut by0, mut bx1, mut by1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (x, y) in corners {
        (bx0, by0, bx1, by1) = (bx0.min(x), by0.min(y), bx1.max(x), by1.max(y));
    }
    let (rx0, rx1) = (rect[0].min(rect[2]), rect[0].max(rect[2]));
    let (ry0, ry1) = (rect[1].min(rect[3]), rect[1].max(rect[3]));
    // A box of no width or height is placed at the rectangle without scaling.
    let sx = if bx1 > bx0 {
        (rx1 - rx0) / (bx1 - bx0)
    } else {
        1.0
    };
    let sy = if by1 > by0 {
        (ry1 - ry0) / (by1 - by0)
    } else {
        1.0
    };
    let (tx, ty) = (rx0 - bx0 * sx, ry0 - by0 * sy);
    let m = [a * sx, b * sy, c * sx, d * sy, e * sx + tx, f * sy + ty];
    m.iter().all(|v| v.is_finite()).then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hayro_syntax::object::FromBytes;

    #[test]
    fn fields_need_a_type_and_a_name_from_themselves_or_a_parent() {
        let field = |s: &[u8]| is_field(&Dict::from_bytes(s).expect("test dict parses"));
        assert!(field(b"<< /FT /Tx /T (a) >>"));
        assert!(field(b"<< /Parent << /FT /Tx /T (p) >> >>"));
        assert!(field(b"<< /T (kid) /Parent << /FT /Btn >> >>"));
        assert!(!field(b"<< /FT /Tx >>"));
        assert!(!field(b"<< /T (a) >>"));
    }
}
