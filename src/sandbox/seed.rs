//! Demo customers each sandbox backend starts with, so `make run` answers real data at once.
//!
//! The seeds are written once in the canonical model; the backend then cuts each one down to
//! what its vendor can hold (a HelpCrunch record has no chats), exactly as a write would.

use crate::canonical::{Address, Customer, Entry, Tag};
use crate::dialect::profile::Vendor;
use crate::dialect::DialectId;
use serde_json::json;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Entries carry id 0 here: the backend assigns real ids when it stores the seed.
fn entry(kind: Option<&str>, value: &str) -> Entry {
    Entry {
        id: 0,
        kind: kind.map(str::to_string),
        value: value.to_string(),
    }
}

/// `(customer id, customer)` pairs for one vendor.
pub fn customers(dialect: DialectId) -> Vec<(String, Customer)> {
    // Dialects of one vendor (Help Scout v1 and v2) share its customers.
    match dialect.profile().vendor {
        Vendor::HelpScout => {
            vec![("100".into(), vernon()), ("101".into(), mary_ann())]
        }
        Vendor::HelpCrunch => vec![("12345".into(), alex())],
        Vendor::Reach => vec![
            (
                "12345".into(),
                reach_customer("12345", "Priya", "Natarajan"),
            ),
            (
                "cus_demo".into(),
                reach_customer("cus_demo", "Demo", "Customer"),
            ),
        ],
    }
}

/// A Help Scout customer with one of everything (chat, website, social profile, address,
/// property), so every v2 collection path has something to update.
fn vernon() -> Customer {
    let mut c = Customer {
        first_name: s("Vernon"),
        last_name: s("Bear"),
        organization: s("Acme Corp"),
        job_title: s("CEO and Co-Founder"),
        notes: s("Prefers e-mail over phone calls."),
        gender: s("male"),
        age: s("52"),
        location: s("Dallas, TX"),
        photo_type: s("twitter"),
        photo_url: s("https://avatars.example.com/vbear.png"),
        address: Some(Address {
            lines: vec!["123 West Main St".into(), "Suite 123".into()],
            city: s("Dallas"),
            state: s("TX"),
            postal_code: s("74206"),
            country: s("US"),
        }),
        emails: vec![
            entry(Some("work"), "vbear@acme.example"),
            entry(Some("home"), "vernon.bear@mail.example"),
        ],
        phones: vec![entry(Some("work"), "+1 214-555-0100")],
        chats: vec![entry(Some("skype"), "vernon.bear")],
        social_profiles: vec![entry(Some("twitter"), "https://twitter.com/vbear")],
        websites: vec![entry(None, "https://acme.example")],
        ..Customer::default()
    };
    c.properties.insert("plan".into(), json!("gold"));
    c.properties.insert("seats".into(), json!(25));
    c
}

fn mary_ann() -> Customer {
    Customer {
        first_name: s("Mary Ann"),
        last_name: s("Smith"),
        organization: s("Globex"),
        job_title: s("Support Lead"),
        gender: s("female"),
        emails: vec![entry(Some("work"), "mary.smith@globex.example")],
        phones: vec![entry(Some("mobile"), "+44 20 7946 0958")],
        ..Customer::default()
    }
}

fn alex() -> Customer {
    let mut c = Customer {
        first_name: s("Alex"),
        last_name: s("Rivera"),
        organization: s("Initech"),
        notes: s("Asked about the annual plan."),
        address: Some(Address {
            city: s("Austin"),
            state: s("TX"),
            country: s("US"),
            ..Address::default()
        }),
        emails: vec![entry(None, "alex.rivera@initech.example")],
        phones: vec![entry(None, "+1 512-555-0147")],
        external_id: s("user-12345"),
        email_opt_out: Some(false),
        blocked: Some(false),
        locale: s("en"),
        source: s("https://initech.example/pricing"),
        first_seen: s("1700000000"),
        last_seen: s("1717171717"),
        tags: Some(vec![Tag {
            name: "vip".into(),
            color: s("#ff9900"),
        }]),
        ..Customer::default()
    };
    c.properties.insert("plan".into(), json!("pro"));
    c
}

fn reach_customer(id: &str, first: &str, last: &str) -> Customer {
    let slug = format!("{}.{}", first, last).to_ascii_lowercase();
    Customer {
        first_name: s(first),
        last_name: s(last),
        emails: vec![entry(None, &format!("{slug}@example.com"))],
        phones: vec![entry(None, "+15555550123")],
        external_id: s(id),
        email_opt_out: Some(false),
        sms_opt_out: Some(true),
        detail_url: Some(format!("https://crm.example.com/customers/{id}")),
        created_at: s("2024-01-15T09:30:00Z"),
        ..Customer::default()
    }
}
