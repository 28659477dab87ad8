//! Known server quirks (placeholder until the catalogue lands).
use crate::grammar::Deviation;

pub struct Quirk {
    pub name: &'static str,
    pub summary: &'static str,
    pub servers: &'static str,
}

pub fn identify(_response: &[u8], _deviation: &Deviation) -> Option<&'static Quirk> {
    None
}
