//! Demo customers each sandbox backend starts with, so `make run` answers real data at once.
//!
//! The seeds are data, `seed.json` beside this file: per vendor, `(customer id, customer)` in
//! the canonical model's serde form (absent means `None` or empty). The backend then cuts each
//! one down to what its vendor can hold (a HelpCrunch record has no chats), exactly as a write
//! would. Entries carry id 0 there: the backend assigns real ids when it stores the seed.

use crate::canonical::Customer;
use crate::dialect::profile::Vendor;
use crate::dialect::DialectId;
use serde::Deserialize;

/// The seed file, one list per vendor.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seeds {
    helpscout: Vec<Seed>,
    helpcrunch: Vec<Seed>,
    reach: Vec<Seed>,
}

/// One seeded customer and the id it is stored under.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Seed {
    id: String,
    customer: Customer,
}

/// `(customer id, customer)` pairs for one vendor.
pub fn customers(dialect: DialectId) -> Vec<(String, Customer)> {
    // Parsed on every call: the sandbox seeds a backend when it starts or is reset, rarely
    // enough not to keep the parsed file around. The tests below prove it parses.
    let seeds: Seeds = serde_json::from_str(include_str!("seed.json"))
        .unwrap_or_else(|e| panic!("src/sandbox/seed.json: {e}"));
    // Dialects of one vendor (Help Scout v1 and v2) share its customers.
    let list = match dialect.profile().vendor {
        Vendor::HelpScout => seeds.helpscout,
        Vendor::HelpCrunch => seeds.helpcrunch,
        Vendor::Reach => seeds.reach,
    };
    list.into_iter().map(|s| (s.id, s.customer)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Map, Value};

    /// A value without its `null`s and empty lists and objects: the serde form of a customer
    /// as the seed file writes it.
    fn written(v: Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Array(a) if a.is_empty() => None,
            Value::Array(a) => Some(Value::Array(a.into_iter().filter_map(written).collect())),
            Value::Object(m) => {
                let m: Map<String, Value> = m
                    .into_iter()
                    .filter_map(|(k, v)| written(v).map(|v| (k, v)))
                    .collect();
                (!m.is_empty()).then_some(Value::Object(m))
            }
            other => Some(other),
        }
    }

    /// `Customer` ignores keys it does not know (it reads upstream documents too), so a
    /// misspelt key in the seed file would silently seed nothing: every key written must come
    /// back when the parsed customer is written out again.
    #[test]
    fn every_seeded_value_is_read() {
        let file: Value =
            serde_json::from_str(include_str!("seed.json")).unwrap_or_else(|e| panic!("{e}"));
        for d in DialectId::ALL {
            let key = match d.profile().vendor {
                Vendor::HelpScout => "helpscout",
                Vendor::HelpCrunch => "helpcrunch",
                Vendor::Reach => "reach",
            };
            let seeds = customers(d);
            assert!(!seeds.is_empty(), "{d}: no demo customers");
            for (i, (id, customer)) in seeds.into_iter().enumerate() {
                let source = &file[key][i];
                assert_eq!(source["id"], id.as_str());
                let again = serde_json::to_value(&customer).ok().and_then(written);
                assert_eq!(
                    again.as_ref(),
                    Some(&source["customer"]),
                    "{d} customer {id}"
                );
            }
        }
    }
}
