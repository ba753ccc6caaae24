//! The bucket policy the function relies on is the one the template deploys.

/// The list the embedded store enforces and the function relies on is the template's `RequireConditionalWrites`, word for word.
#[test]
fn the_enforced_keys_are_the_templates() {
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infra/template.yaml"),
    )
    .unwrap();
    let start = template
        .find("Sid: RequireConditionalWrites")
        .expect("the statement is in the template");
    let block = &template[start..];
    let block = &block[..block.find("Condition:").unwrap()];
    let in_template: Vec<&str> = block
        .lines()
        .filter_map(|l| l.split("${DossierBucket.Arn}/").nth(1))
        .map(|rest| rest.trim_end_matches('"'))
        .collect();
    assert_eq!(in_template, store::policy::CONDITIONAL_ONLY);
}

/// The patterns cover the objects exactly-once rests on, and nothing else.
#[test]
fn the_conditional_keys_are_the_claims_records_and_manifests() {
    let only = |key: &str| dev_store::conditional_only(store::policy::CONDITIONAL_ONLY, key);
    assert!(only("sequence/261125/0001"));
    assert!(only("dossiers/2026/11/H21.55.01-261125-0001/dossier.json"));
    assert!(only(
        "dossiers/2026/11/H21.55.01-261125-0001/events/000001.json"
    ));
    assert!(!only(
        "dossiers/2026/11/H21.55.01-261125-0001/files/1-dossier.json.pdf"
    ));
    assert!(!only("dossiers/2026/11/x/files/1-scan.pdf"));
    assert!(!only("outbox/x.json"));
    assert!(!only("sequence"));
}
