//! Checks that a written figure is what it claims to be: a PNG that decodes
//! to its declared size, an SVG that is a well-formed XML document with an
//! `<svg>` root. `mmlab report` runs them on every figure it writes.

use std::path::Path;

use anyhow::{Context, bail};

/// Decodes the whole PNG and returns its width and height.
pub fn png(path: &Path) -> anyhow::Result<(u32, u32)> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let decoder = png::Decoder::new(std::io::BufReader::new(file));
    let mut reader = decoder
        .read_info()
        .with_context(|| format!("{} is not a PNG", path.display()))?;
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut pixels)
        .with_context(|| format!("{}: cannot decode the image data", path.display()))?;
    if info.width == 0 || info.height == 0 {
        bail!("{}: empty image", path.display());
    }
    Ok((info.width, info.height))
}

/// Checks that the SVG is well formed (every tag closed in order, quoted
/// attributes, one `<svg>` root) and returns its number of elements.
pub fn svg(path: &Path) -> anyhow::Result<usize> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    well_formed(&text).with_context(|| format!("{} is not a well-formed SVG", path.display()))
}

fn well_formed(text: &str) -> anyhow::Result<usize> {
    let mut open: Vec<String> = Vec::new();
    let mut elements = 0;
    let mut root_seen = false;
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        if let Some(after) = rest.strip_prefix("?") {
            let end = after.find("?>").context("unclosed <? ?>")?;
            rest = &after[end + 2..];
            continue;
        }
        if let Some(after) = rest.strip_prefix("!--") {
            let end = after.find("-->").context("unclosed comment")?;
            rest = &after[end + 3..];
            continue;
        }
        if rest.starts_with('!') {
            let end = rest.find('>').context("unclosed declaration")?;
            rest = &rest[end + 1..];
            continue;
        }
        let end = tag_end(rest).context("unclosed tag")?;
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            match open.pop() {
                Some(expected) if expected == name => {}
                Some(expected) => bail!("</{name}> closes <{expected}>"),
                None => bail!("</{name}> closes nothing"),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
        if name.is_empty() {
            bail!("a tag without a name");
        }
        if open.is_empty() {
            if root_seen || name != "svg" {
                bail!("the root element is <{name}>, not one <svg>");
            }
            root_seen = true;
        }
        check_attributes(&body[name.len()..]).with_context(|| format!("in <{name}>"))?;
        elements += 1;
        if !self_closing {
            open.push(name);
        }
    }
    if let Some(unclosed) = open.last() {
        bail!("<{unclosed}> is never closed");
    }
    if !root_seen {
        bail!("no <svg> element");
    }
    Ok(elements)
}

/// The index of the `>` ending a tag, skipping `>` inside quoted values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn check_attributes(text: &str) -> anyhow::Result<()> {
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let eq = rest
            .find('=')
            .with_context(|| format!("attribute without a value: {rest:?}"))?;
        let name = rest[..eq].trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            bail!("bad attribute name {name:?}");
        }
        let value = rest[eq + 1..].trim_start();
        let quote = value
            .chars()
            .next()
            .filter(|c| *c == '"' || *c == '\'')
            .with_context(|| format!("attribute {name} is not quoted"))?;
        let close = value[1..]
            .find(quote)
            .with_context(|| format!("attribute {name} is not closed"))?;
        rest = value[close + 2..].trim_start();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_svg_passes_and_broken_ones_fail() {
        assert_eq!(well_formed("<?xml version=\"1.0\"?>\n<svg a=\"1\"><g><text x=\"1\">a &lt; b</text></g><rect/></svg>").unwrap(), 4);
        for broken in [
            "<svg><g></svg>",
            "<svg><g a=1></g></svg>",
            "<svg>",
            "<html></html>",
            "<svg></svg><svg></svg>",
            "plain",
        ] {
            assert!(well_formed(broken).is_err(), "{broken:?} passed");
        }
    }
}
