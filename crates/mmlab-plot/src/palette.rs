//! One colour per series name, the same in every
//! figure of a report. A name's colour is picked by a stable hash of the
//! name (FNV-1a, the same on every machine and every build); when two names
//! that appear in the same figure would share a colour, the later one (in
//! sorted order) takes the next free one, so series in one figure are always
//! told apart and a name keeps its colour across the whole report.

use std::collections::{BTreeMap, BTreeSet};

use crate::scene::{MarkerKind, Rgb};

/// Okabe-Ito's colour-blind-safe eight (yellow darkened to read on white),
/// then four more that stay apart from them.
pub const COLOURS: [Rgb; 12] = [
    Rgb(0x00, 0x72, 0xB2), // blue
    Rgb(0xE6, 0x9F, 0x00), // orange
    Rgb(0x00, 0x9E, 0x73), // bluish green
    Rgb(0xD5, 0x5E, 0x00), // vermillion
    Rgb(0xCC, 0x79, 0xA7), // reddish purple
    Rgb(0x56, 0xB4, 0xE9), // sky blue
    Rgb(0x8C, 0x56, 0x4B), // brown
    Rgb(0x7F, 0x3C, 0x8D), // purple
    Rgb(0xB8, 0xA0, 0x00), // dark yellow
    Rgb(0x44, 0x44, 0x44), // dark grey
    Rgb(0xE7, 0x3F, 0x74), // pink
    Rgb(0x66, 0x66, 0x99), // slate
];

const MARKERS: [MarkerKind; 4] = [
    MarkerKind::Circle,
    MarkerKind::Square,
    MarkerKind::Triangle,
    MarkerKind::Diamond,
];

/// Colour slots for the names of one report (or one comparison).
#[derive(Debug, Clone, Default)]
pub struct Palette {
    slots: BTreeMap<String, usize>,
}

fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The slot a name takes when nothing stands in its way.
fn preferred_slot(name: &str) -> usize {
    (fnv1a(name) % COLOURS.len() as u64) as usize
}

impl Palette {
    /// A palette for names that appear together in `groups` (one group per
    /// figure): names of one group get different colours as long as a group
    /// has no more names than there are colours.
    pub fn from_groups<I>(groups: I) -> Palette
    where
        I: IntoIterator<Item = Vec<String>>,
    {
        let mut neighbours: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for group in groups {
            for name in &group {
                let entry = neighbours.entry(name.clone()).or_default();
                entry.extend(group.iter().filter(|other| *other != name).cloned());
            }
        }
        let mut slots: BTreeMap<String, usize> = BTreeMap::new();
        for (name, others) in &neighbours {
            let taken: BTreeSet<usize> = others
                .iter()
                .filter_map(|o| slots.get(o))
                .copied()
                .collect();
            let preferred = preferred_slot(name);
            let slot = (0..COLOURS.len())
                .map(|step| (preferred + step) % COLOURS.len())
                .find(|slot| !taken.contains(slot))
                .unwrap_or(preferred);
            slots.insert(name.clone(), slot);
        }
        Palette { slots }
    }

    fn slot(&self, name: &str) -> usize {
        self.slots
            .get(name)
            .copied()
            .unwrap_or_else(|| preferred_slot(name))
    }

    pub fn colour(&self, name: &str) -> Rgb {
        COLOURS[self.slot(name)]
    }

    /// The marker of the `index`-th series name of a figure: colour says
    /// which name, the marker tells lines apart where colours are hard to.
    pub fn marker_at(index: usize) -> MarkerKind {
        MARKERS[index % MARKERS.len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn names_in_one_figure_never_share_a_colour() {
        let many: Vec<String> = (0..12).map(|i| format!("series {i}")).collect();
        let palette = Palette::from_groups([many.clone()]);
        let colours: BTreeSet<String> = many.iter().map(|n| palette.colour(n).hex()).collect();
        assert_eq!(colours.len(), 12);
    }

    #[test]
    fn a_name_keeps_its_colour_in_every_figure() {
        let palette = Palette::from_groups([
            names(&["read", "mmap"]),
            names(&["mmap", "MAP_PRIVATE", "MAP_SHARED"]),
            names(&["read", "MAP_SHARED"]),
        ]);
        // One colour per name, whatever figure asks.
        assert_eq!(palette.colour("mmap"), palette.colour("mmap"));
        assert_ne!(palette.colour("read"), palette.colour("mmap"));
        assert_ne!(palette.colour("MAP_PRIVATE"), palette.colour("MAP_SHARED"));
        assert_ne!(palette.colour("mmap"), palette.colour("MAP_SHARED"));
        // Without a conflict a name gets its hashed colour, in any report.
        let alone = Palette::from_groups([names(&["read"])]);
        assert_eq!(alone.colour("read"), COLOURS[preferred_slot("read")]);
    }
}
