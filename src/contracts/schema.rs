//! Schema validation with the embedded schemas, each compiled once per process.

use std::sync::OnceLock;

use serde_json::Value;

use super::Contract;
use super::semantic::Violation;

fn compiled(contract: Contract) -> &'static jsonschema::Validator {
    static CACHE: OnceLock<Vec<OnceLock<jsonschema::Validator>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Contract::ALL.iter().map(|_| OnceLock::new()).collect());
    let index = Contract::ALL
        .iter()
        .position(|c| *c == contract)
        .expect("every contract is in ALL");
    cache[index].get_or_init(|| {
        let schema: Value = serde_json::from_str(contract.schema_text())
            .expect("embedded schemas are valid JSON (tested)");
        jsonschema::validator_for(&schema).expect("embedded schemas compile (tested)")
    })
}

/// Every place where `document` breaks the schema of `contract`.
pub fn check(contract: Contract, document: &Value) -> Vec<Violation> {
    compiled(contract)
        .iter_errors(document)
        .map(|error| {
            let pointer = error.instance_path().to_string();
            let keyword = error
                .schema_path()
                .to_string()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            Violation {
                code: "SCHEMA",
                pointer,
                message: format!("{error} (schema keyword `{keyword}`)"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_schema_compiles_and_accepts_its_examples() {
        for contract in Contract::ALL {
            let schema: Value = serde_json::from_str(contract.schema_text()).unwrap();
            let _ = compiled(*contract);
            for example in schema["examples"].as_array().into_iter().flatten() {
                let errors = check(*contract, example);
                assert!(errors.is_empty(), "{contract}: example fails: {errors:?}");
            }
        }
    }
}
