//! The canonical customer document and how a change set applies to it.

use super::{Change, Coll, EntryUpdate, Field, Op};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One entry of a multi-entry collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Entry id (positive; the single slot of HelpCrunch/Reach appears as id 1).
    pub id: u64,
    /// Entry type / location (`None` for websites).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The value.
    pub value: String,
}

impl EntryUpdate {
    /// Overwrites what the update gives (type, value) and keeps the rest of `entry`.
    pub fn apply_to(&self, entry: &mut Entry) {
        if let Some(k) = &self.kind {
            entry.kind = Some(k.clone());
        }
        if let Some(v) = &self.value {
            entry.value = v.clone();
        }
    }
}

/// A postal address. Any member may be missing (container-level `default`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Address {
    /// Street lines.
    pub lines: Vec<String>,
    /// City.
    pub city: Option<String>,
    /// State / region.
    pub state: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
}

impl Address {
    /// True when nothing is set.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
            && self.city.is_none()
            && self.state.is_none()
            && self.postal_code.is_none()
            && self.country.is_none()
    }
}

/// A HelpCrunch tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Tag name.
    pub name: String,
    /// CSS colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

/// Read-only facts an upstream reports about its record (never changed by a client).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The upstream's own id for the record (number or string, as the upstream has it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// Record creation timestamp as the upstream wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_created_at: Option<String>,
    /// Record update timestamp as the upstream wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_updated_at: Option<String>,
    /// Reach-only ids (`schema_definition_id`, `platform_id`, `business_id`); only a reach
    /// upstream fills them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_definition_id: Option<String>,
    /// See `schema_definition_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_id: Option<String>,
    /// See `schema_definition_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
}

/// The canonical customer (SPEC §2). Absent and `null` are the same thing: `None`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Customer {
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Organization.
    pub organization: Option<String>,
    /// Job title.
    pub job_title: Option<String>,
    /// Notes / background.
    pub notes: Option<String>,
    /// Photo URL.
    pub photo_url: Option<String>,
    /// Photo type.
    pub photo_type: Option<String>,
    /// Gender, lower case.
    pub gender: Option<String>,
    /// Age.
    pub age: Option<String>,
    /// Location.
    pub location: Option<String>,
    /// Postal address.
    pub address: Option<Address>,
    /// E-mails.
    pub emails: Vec<Entry>,
    /// Phones.
    pub phones: Vec<Entry>,
    /// Chats.
    pub chats: Vec<Entry>,
    /// Social profiles.
    pub social_profiles: Vec<Entry>,
    /// Websites.
    pub websites: Vec<Entry>,
    /// External id.
    pub external_id: Option<String>,
    /// E-mail opt-out.
    pub email_opt_out: Option<bool>,
    /// SMS opt-out.
    pub sms_opt_out: Option<bool>,
    /// Blocked.
    pub blocked: Option<bool>,
    /// Locale.
    pub locale: Option<String>,
    /// Source.
    pub source: Option<String>,
    /// Referer.
    pub referer: Option<String>,
    /// Last page.
    pub last_page: Option<String>,
    /// First seen (UNIX seconds, decimal string).
    pub first_seen: Option<String>,
    /// Last seen (UNIX seconds, decimal string).
    pub last_seen: Option<String>,
    /// Created from.
    pub created_from: Option<String>,
    /// Integration id.
    pub integration_id: Option<String>,
    /// Tags.
    pub tags: Option<Vec<Tag>>,
    /// Custom properties, slug → scalar.
    pub properties: Map<String, Value>,
    /// Detail URL.
    pub detail_url: Option<String>,
    /// Customer creation date (RFC 3339).
    pub created_at: Option<String>,
    /// Upstream record facts.
    pub meta: Meta,
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn value_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

impl Customer {
    /// The entries of a collection.
    pub fn coll(&self, coll: Coll) -> &Vec<Entry> {
        match coll {
            Coll::Emails => &self.emails,
            Coll::Phones => &self.phones,
            Coll::Chats => &self.chats,
            Coll::SocialProfiles => &self.social_profiles,
            Coll::Websites => &self.websites,
        }
    }

    /// The entries of a collection, mutably.
    pub fn coll_mut(&mut self, coll: Coll) -> &mut Vec<Entry> {
        match coll {
            Coll::Emails => &mut self.emails,
            Coll::Phones => &mut self.phones,
            Coll::Chats => &mut self.chats,
            Coll::SocialProfiles => &mut self.social_profiles,
            Coll::Websites => &mut self.websites,
        }
    }

    /// The current value of a scalar field as JSON (`null` when unset).
    pub fn get(&self, field: Field) -> Value {
        let addr = self.address.as_ref();
        let addr_str =
            |f: fn(&Address) -> &Option<String>| addr.map_or(Value::Null, |a| opt_str(f(a)));
        match field {
            Field::FirstName => opt_str(&self.first_name),
            Field::LastName => opt_str(&self.last_name),
            Field::Organization => opt_str(&self.organization),
            Field::JobTitle => opt_str(&self.job_title),
            Field::Notes => opt_str(&self.notes),
            Field::PhotoUrl => opt_str(&self.photo_url),
            Field::PhotoType => opt_str(&self.photo_type),
            Field::Gender => opt_str(&self.gender),
            Field::Age => opt_str(&self.age),
            Field::Location => opt_str(&self.location),
            Field::AddressLines => match addr {
                Some(a) if !a.lines.is_empty() => {
                    Value::Array(a.lines.iter().cloned().map(Value::String).collect())
                }
                _ => Value::Null,
            },
            Field::AddressCity => addr_str(|a| &a.city),
            Field::AddressState => addr_str(|a| &a.state),
            Field::AddressPostalCode => addr_str(|a| &a.postal_code),
            Field::AddressCountry => addr_str(|a| &a.country),
            Field::ExternalId => opt_str(&self.external_id),
            Field::EmailOptOut => self.email_opt_out.map_or(Value::Null, Value::Bool),
            Field::SmsOptOut => self.sms_opt_out.map_or(Value::Null, Value::Bool),
            Field::Blocked => self.blocked.map_or(Value::Null, Value::Bool),
            Field::Locale => opt_str(&self.locale),
            Field::Source => opt_str(&self.source),
            Field::Referer => opt_str(&self.referer),
            Field::LastPage => opt_str(&self.last_page),
            Field::FirstSeen => opt_str(&self.first_seen),
            Field::LastSeen => opt_str(&self.last_seen),
            Field::CreatedFrom => opt_str(&self.created_from),
            Field::IntegrationId => opt_str(&self.integration_id),
            Field::Tags => match &self.tags {
                Some(t) => serde_json::to_value(t).unwrap_or(Value::Null),
                None => Value::Null,
            },
            Field::DetailUrl => opt_str(&self.detail_url),
            Field::CreatedAt => opt_str(&self.created_at),
        }
    }

    /// Sets a scalar field from JSON (`null` clears). Values are expected to be validated
    /// already; a value of the wrong JSON type is stored in its string form.
    pub fn set(&mut self, field: Field, value: &Value) {
        let s = value_str(value);
        let b = value.as_bool();
        match field {
            Field::FirstName => self.first_name = s,
            Field::LastName => self.last_name = s,
            Field::Organization => self.organization = s,
            Field::JobTitle => self.job_title = s,
            Field::Notes => self.notes = s,
            Field::PhotoUrl => self.photo_url = s,
            Field::PhotoType => self.photo_type = s,
            Field::Gender => self.gender = s.map(|g| g.to_ascii_lowercase()),
            Field::Age => self.age = s,
            Field::Location => self.location = s,
            Field::AddressLines => {
                let lines: Vec<String> = match value {
                    Value::Array(items) => items.iter().filter_map(value_str).collect(),
                    Value::Null => Vec::new(),
                    other => value_str(other).into_iter().collect(),
                };
                self.address.get_or_insert_with(Address::default).lines = lines;
            }
            Field::AddressCity => self.address.get_or_insert_with(Address::default).city = s,
            Field::AddressState => self.address.get_or_insert_with(Address::default).state = s,
            Field::AddressPostalCode => {
                self.address
                    .get_or_insert_with(Address::default)
                    .postal_code = s
            }
            Field::AddressCountry => self.address.get_or_insert_with(Address::default).country = s,
            Field::ExternalId => self.external_id = s,
            Field::EmailOptOut => self.email_opt_out = b,
            Field::SmsOptOut => self.sms_opt_out = b,
            Field::Blocked => self.blocked = b,
            Field::Locale => self.locale = s,
            Field::Source => self.source = s,
            Field::Referer => self.referer = s,
            Field::LastPage => self.last_page = s,
            Field::FirstSeen => self.first_seen = s,
            Field::LastSeen => self.last_seen = s,
            Field::CreatedFrom => self.created_from = s,
            Field::IntegrationId => self.integration_id = s,
            Field::Tags => self.tags = serde_json::from_value(value.clone()).ok(),
            Field::DetailUrl => self.detail_url = s,
            Field::CreatedAt => self.created_at = s,
        }
        if self.address.as_ref().is_some_and(Address::is_empty) {
            self.address = None;
        }
    }

    /// The largest entry id in use across all collections (ids are unique per customer in
    /// Help Scout).
    pub fn max_entry_id(&self) -> u64 {
        Coll::ALL
            .iter()
            .flat_map(|c| self.coll(*c).iter().map(|e| e.id))
            .max()
            .unwrap_or(0)
    }

    /// Applies changes in order. `next_id` assigns ids to added entries; `default_kind` is the
    /// type given to an entry created through `Op::Primary`. Removing or updating an entry that
    /// does not exist is an error naming the change (its origin).
    pub fn apply<'c>(
        &mut self,
        changes: &'c [Change],
        next_id: &mut dyn FnMut() -> u64,
        default_kind: &str,
    ) -> Result<(), &'c Change> {
        for change in changes {
            match &change.op {
                Op::Set { field, value } => self.set(*field, value),
                Op::EntryAdd { coll, kind, value } => {
                    let id = next_id();
                    self.coll_mut(*coll).push(Entry {
                        id,
                        kind: kind.clone(),
                        value: value.clone(),
                    });
                }
                Op::EntryRemove { coll, id } => {
                    let entries = self.coll_mut(*coll);
                    let before = entries.len();
                    entries.retain(|e| e.id != *id);
                    if entries.len() == before {
                        return Err(change);
                    }
                }
                Op::EntryUpdate(update) => {
                    let entries = self.coll_mut(update.coll);
                    let Some(entry) = entries.iter_mut().find(|e| e.id == update.id) else {
                        return Err(change);
                    };
                    update.apply_to(entry);
                }
                Op::Primary { coll, value } => {
                    let kind = (*coll != Coll::Websites).then(|| default_kind.to_string());
                    match value {
                        Some(v) => {
                            if let Some(first) = self.coll_mut(*coll).first_mut() {
                                first.value = v.clone();
                            } else {
                                let id = next_id();
                                self.coll_mut(*coll).push(Entry {
                                    id,
                                    kind,
                                    value: v.clone(),
                                });
                            }
                        }
                        None => {
                            let entries = self.coll_mut(*coll);
                            if !entries.is_empty() {
                                entries.remove(0);
                            }
                        }
                    }
                }
                Op::PropertySet { slug, value } => {
                    self.properties.insert(slug.clone(), value.clone());
                }
                Op::PropertyRemove { slug } => {
                    self.properties.remove(slug);
                }
            }
        }
        Ok(())
    }
}
