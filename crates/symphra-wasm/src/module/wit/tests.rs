use std::path::Path;

use super::check_wit_version;

#[test]
fn wit_versions() {
    let p = Path::new("m.wasm");
    let ok = |n: &str| check_wit_version(p, [n]);
    assert!(ok("symphra:module/guest@0.1.0").is_ok());
    assert!(ok("symphra:module/guest@0.1.9").is_ok());
    assert!(ok("wasi:cli/environment@0.2.0").is_ok());
    let error = ok("symphra:module/guest@0.2.0").unwrap_err().to_string();
    assert!(
        error.contains("0.2.0") && error.contains("0.1.0"),
        "{error}"
    );
}
