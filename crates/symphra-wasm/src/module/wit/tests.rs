use std::path::Path;

use super::{WitLevel, check_wit_version};

#[test]
fn wit_versions() {
    let p = Path::new("m.wasm");
    let ok = |n: &str| check_wit_version(p, [n]);
    assert_eq!(ok("symphra:module/guest@0.1.0").unwrap(), WitLevel::V0_1);
    assert_eq!(ok("symphra:module/guest@0.1.9").unwrap(), WitLevel::V0_1);
    assert_eq!(ok("symphra:module/guest@0.2.0").unwrap(), WitLevel::V0_2);
    assert_eq!(ok("symphra:module/health@0.2.3").unwrap(), WitLevel::V0_2);
    assert_eq!(ok("wasi:cli/environment@0.2.0").unwrap(), WitLevel::V0_1);
    for bad in ["symphra:module/guest@0.3.0", "symphra:module/guest@1.0.0"] {
        let error = ok(bad).unwrap_err().to_string();
        assert!(
            error.contains(&bad[bad.len() - 5..]) && error.contains("0.1.0 and 0.2.0"),
            "{error}"
        );
    }
}

#[test]
fn a_component_may_not_mix_versions() {
    let error = check_wit_version(
        Path::new("m.wasm"),
        ["symphra:module/host@0.1.0", "symphra:module/guest@0.2.0"],
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("mix versions"), "{error}");
}
