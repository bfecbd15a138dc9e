//! `--pack FILE`: read a heuristics pack and turn its `preflight_patterns` into rules. The
//! rules themselves are built by [`crate::preflight::rules::patterns::from_pack`].

use std::path::Path;

use crate::preflight::rules::Rule;
use crate::preflight::rules::patterns::from_pack;

/// Load a pack's `preflight_patterns` as rules. Errors name the file and the entry index.
/// A name that is not a file but names a bundled pack (`rust-cli`, `pack-rust-cli`) loads
/// that pack.
pub fn load(path: &Path) -> anyhow::Result<Vec<Box<dyn Rule>>> {
    let source = path.display().to_string();
    if !path.exists()
        && let Ok(pack) = crate::packs::find(&source)
    {
        return Ok(from_pack(&pack.doc, &pack.source)?);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read pack {source}: {e}"))?;
    let pack: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{source}: line {}, column {}: not a heuristics pack: {e}",
            e.line(),
            e.column()
        )
    })?;
    Ok(from_pack(&pack, &source)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_bundled_pack_builds_into_rules() {
        for pack in crate::packs::bundled() {
            super::from_pack(&pack.doc, &pack.source)
                .unwrap_or_else(|e| panic!("{}: {e}", pack.name));
        }
    }
}
