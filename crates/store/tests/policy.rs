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
