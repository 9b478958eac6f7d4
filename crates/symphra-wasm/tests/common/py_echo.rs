//! The Python guest of examples/modules/py-echo, built with componentize-py and kept in the
//! temporary folder. componentize-py's output differs from build to build, so the built
//! component is keyed by its sources and reused, or the compile cache would never hit.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guest's source folder.
pub fn source() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/py-echo")
}

/// Whether componentize-py can be run.
pub fn have_componentize_py() -> bool {
    Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The component built from the guest's sources, built once per version of them.
pub fn built_component() -> Result<PathBuf, String> {
    let source = source();
    let mut key = std::collections::hash_map::DefaultHasher::new();
    for file in [
        source.join("app.py"),
        source.join("build.sh"),
        source.join("../../../wit/module.wit"),
    ] {
        std::fs::read(&file)
            .map_err(|e| format!("{}: {e}", file.display()))?
            .hash(&mut key);
    }
    let out = std::env::temp_dir().join(format!("symphra-py-echo-{:016x}.wasm", key.finish()));
    if out.is_file() {
        return Ok(out);
    }
    let partial = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("bash")
        .arg(source.join("build.sh"))
        .arg(&partial)
        .status()
        .map_err(|e| format!("run build.sh: {e}"))?;
    if !status.success() {
        return Err(format!(
            "build.sh failed ({status}); is componentize-py installed?"
        ));
    }
    std::fs::rename(&partial, &out).map_err(|e| format!("keep the built component: {e}"))?;
    Ok(out)
}
