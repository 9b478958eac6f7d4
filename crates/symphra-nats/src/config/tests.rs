//! The checks a configuration passes before the bridge connects.

use super::*;

fn config(export: &[&str], import: Vec<ImportConfig>) -> BridgeConfig {
    BridgeConfig {
        export: export.iter().map(|p| (*p).to_owned()).collect(),
        import,
        ..BridgeConfig::default()
    }
}

#[test]
fn a_valid_configuration_keeps_its_order() {
    let mut valid = config(
        &["order.*", "*"],
        vec![
            ImportConfig::new("pay.>"),
            ImportConfig::queue("jobs.*", "w"),
        ],
    );
    valid.subject_prefix = Some("shop".to_owned());
    let validated = valid.validate().unwrap();
    let exports: Vec<&str> = validated.exports.iter().map(Pattern::as_str).collect();
    assert_eq!(exports, ["order.*", "*"]);
    let imports: Vec<(&str, Option<&str>)> = validated
        .imports
        .iter()
        .map(|(p, g)| (p.as_str(), g.as_deref()))
        .collect();
    assert_eq!(imports, [("pay.>", None), ("jobs.*", Some("w"))]);
    assert_eq!(validated.prefix, Prefix::new(Some("shop")).unwrap());
}

#[test]
fn each_mistake_is_named() {
    let error = |config: BridgeConfig| config.validate().err();
    assert!(matches!(
        error(config(&["a..b"], vec![])),
        Some(BridgeError::InvalidPattern {
            direction: "export",
            ..
        })
    ));
    assert!(matches!(
        error(config(&[], vec![ImportConfig::new("a.>.b")])),
        Some(BridgeError::InvalidPattern {
            direction: "import",
            ..
        })
    ));
    for group in ["", "two words"] {
        assert!(matches!(
            error(config(&[], vec![ImportConfig::queue("a.*", group)])),
            Some(BridgeError::InvalidQueueGroup { .. })
        ));
    }
    assert!(matches!(
        error(config(&[], vec![])),
        Some(BridgeError::NothingToBridge)
    ));
    let mut prefixed = config(&["a"], vec![]);
    prefixed.subject_prefix = Some("a.*".to_owned());
    assert!(matches!(
        error(prefixed),
        Some(BridgeError::InvalidPrefix { .. })
    ));
}

#[test]
fn exports_are_checked_before_imports_and_the_prefix() {
    let mut both = config(&["a..b"], vec![ImportConfig::queue("a.*", "")]);
    both.subject_prefix = Some("a b".to_owned());
    assert!(matches!(
        both.validate().err(),
        Some(BridgeError::InvalidPattern {
            direction: "export",
            ..
        })
    ));
}
