//! Help Scout v1 client side, inbound: the `.json` customer paths and the PUT body, walked in
//! one streaming pass (serde visitors, no `Value` tree for the known keys) and validated against
//! the v1 rules; entry ids decide create, update and delete.

use super::*;
/// Rules v1 applies to scalar values, on both sides (client validation and target check).
pub(super) fn check_scalar(field: Field, s: &str, pointer: &str) -> Option<Violation> {
    let rule = super::fields::rule_of(&super::profile::HELPSCOUT_V1, field)?;
    super::fields::check_value(rule, s, pointer).err()
}

/// Rules v1 applies to an entry's type and value; each failure is pushed at `pointer(leaf)`.
pub(super) fn check_entry(
    coll: Coll,
    kind: Option<&str>,
    value: Option<&str>,
    pointer: &dyn Fn(&str) -> String,
    out: &mut Vec<Violation>,
) {
    if let (Some(k), Some(allowed), Some(key)) = (kind, coll.v1_types(), type_key(coll)) {
        if !allowed.contains(&k) {
            if let Err(v) = rules::one_of(k, allowed, false, &pointer(key)) {
                out.push(v);
            }
        }
    }
    if let (Coll::Emails, Some(v)) = (coll, value) {
        if !rules::is_email(v) {
            if let Err(v) = rules::email(v, &pointer("value")) {
                out.push(v);
            }
        }
    }
}

/// What an entry's `id` asks for (L1: "an id that evaluates to false" creates).
pub(super) enum EntryId {
    New,
    Update(u64),
    Remove(u64),
}

pub(super) fn entry_id(v: Option<&Value>) -> Option<EntryId> {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Some(EntryId::New),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
            (Some(0), _) => Some(EntryId::New),
            (Some(id), _) => Some(EntryId::Update(id)),
            (None, Some(neg)) => Some(EntryId::Remove(neg.unsigned_abs())),
            _ => None,
        },
        Some(_) => None,
    }
}

/// Moves a helper's violation (built at a placeholder pointer) to its real place, so the
/// pointer string is only built on failure.
pub(super) fn relocate(mut v: Violation, pointer: String) -> Violation {
    v.pointer = pointer;
    v
}

/// A string-or-null member, absent counting as null; a wrong type is pushed at `pointer()`.
pub(super) fn member_str(
    v: Option<Value>,
    pointer: impl FnOnce() -> String,
    out: &mut Vec<Violation>,
) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            if let Err(e) = rules::string_or_null(&other, "") {
                out.push(relocate(e, pointer()));
            }
            None
        }
    }
}

// === decoding a client body ===
//
// The body is walked once, straight from the bytes: containers the decoder understands (the
// top-level object, `address`, the entry arrays and entry objects) are visited in place, members
// become small `Value`s, and unknown keys are skipped without being built. Real client bodies
// are mostly read-only and unknown keys, and a `Value` tree of them costs several times the
// translation budget. A container found where another JSON type was expected is built as a
// `Value` only to be named in the violation.

/// Accumulates the changes and violations of one client body.
pub(super) struct Decoder {
    pub(super) changes: ChangeSet,
    pub(super) violations: Vec<Violation>,
    pub(super) reload: bool,
}

/// Which top-level key a body member has.
pub(super) enum Key {
    Reload,
    Address,
    Scalar(usize),
    Coll(usize),
    Other,
}

/// Which member of an entry object a key names.
pub(super) enum EntryKey {
    Id,
    Value,
    Location,
    Type,
    Other,
}

/// Which member of `address` a key names (index into [`Members::address`]).
pub(super) struct AddressKey(pub(super) Option<usize>);

/// Matches a key; `F` maps the key to its meaning. The key comes back too, borrowed from the
/// body unless it had escapes, for the repeated-key check ([`Seen`]).
pub(super) struct KeySeed<F>(pub(super) F);

impl<'de, T, F: FnOnce(&str) -> T> DeserializeSeed<'de> for KeySeed<F> {
    type Value = (T, Cow<'de, str>);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de, T, F: FnOnce(&str) -> T> Visitor<'de> for KeySeed<F> {
    type Value = (T, Cow<'de, str>);
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(((self.0)(v), Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(((self.0)(v), Cow::Owned(v.to_owned())))
    }
}

/// The keys of one object seen so far. The walk is the body's only pass, so it refuses a
/// repeated key itself (RFC 8259 §4, see `rules::reject_duplicate_keys`, which then only words
/// the refusal): keys the decoder knows are bits of their meaning (a meaning has one key), the
/// others are kept, in a set once there are many (no quadratic cost on a hostile body).
#[derive(Default)]
pub(super) struct Seen<'de> {
    bits: u128,
    few: Vec<Cow<'de, str>>,
    /// Made only when needed: a `HashSet`'s hasher state is seeded from a thread-local on
    /// creation, which cost more than checking a whole entry object.
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> Seen<'de> {
    /// Records a key (`bit`: its meaning, when the decoder knows it); an error when the object
    /// already had it.
    pub(super) fn check<E: de::Error>(
        &mut self,
        bit: Option<usize>,
        key: Cow<'de, str>,
    ) -> Result<(), E> {
        let fresh = match bit.filter(|b| *b < 128) {
            Some(b) => {
                let mask = 1u128 << b;
                let fresh = self.bits & mask == 0;
                self.bits |= mask;
                fresh
            }
            None => match &mut self.many {
                None if self.few.len() < 16 => {
                    let fresh = !self.few.contains(&key);
                    if fresh {
                        self.few.push(key);
                    }
                    fresh
                }
                None => {
                    let mut many: HashSet<Cow<'de, str>> = self.few.drain(..).collect();
                    let fresh = many.insert(key);
                    self.many = Some(many);
                    fresh
                }
                Some(many) => many.insert(key),
            },
        };
        if fresh {
            Ok(())
        } else {
            Err(de::Error::custom("duplicate key"))
        }
    }
}

/// A member value, built as a `Value` with repeated keys refused anywhere inside.
pub(super) struct Unique;

impl<'de> DeserializeSeed<'de> for Unique {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        rules::unique_value(d)
    }
}

pub(super) fn top_key(k: &str) -> Key {
    match k {
        "reload" => Key::Reload,
        "address" => Key::Address,
        _ => match members().scalars.iter().position(|m| m.key == k) {
            Some(i) => Key::Scalar(i),
            None => members()
                .colls
                .iter()
                .position(|m| m.key == k)
                .map_or(Key::Other, Key::Coll),
        },
    }
}

pub(super) fn skip_key(_: &str) {}

pub(super) fn entry_key(k: &str) -> EntryKey {
    match k {
        "id" => EntryKey::Id,
        "value" => EntryKey::Value,
        "location" => EntryKey::Location,
        "type" => EntryKey::Type,
        _ => EntryKey::Other,
    }
}

pub(super) fn address_key_index(k: &str) -> AddressKey {
    AddressKey(members().address.iter().position(|m| m.key == k))
}

/// What the decoder does with the JSON value at one position: walk an object or an array in
/// place, or take any other value whole.
pub(super) trait Walk<'de>: Sized {
    fn map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let v = collect_map(map)?;
        self.other(v);
        Ok(())
    }
    fn seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        let v = collect_seq(seq)?;
        self.other(v);
        Ok(())
    }
    fn other(self, v: Value);
}

pub(super) fn collect_map<'de, A: MapAccess<'de>>(map: A) -> Result<Value, A::Error> {
    rules::unique_map(map)
}

pub(super) fn collect_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Value, A::Error> {
    rules::unique_seq(seq)
}

/// The visits of scalar values, which all hand the value whole to [`Walk::other`].
macro_rules! scalar_visits {
    ($($name:ident($ty:ty) => $value:expr,)*) => {
        $(
            fn $name<E: de::Error>(self, v: $ty) -> Result<(), E> {
                self.0.other($value(v));
                Ok(())
            }
        )*
    };
}

/// Drives a [`Walk`] from a deserializer.
pub(super) struct Walker<W>(pub(super) W);

impl<'de, W: Walk<'de>> DeserializeSeed<'de> for Walker<W> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, W: Walk<'de>> Visitor<'de> for Walker<W> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    scalar_visits! {
        visit_bool(bool) => Value::Bool,
        visit_i64(i64) => Value::from,
        visit_u64(u64) => Value::from,
        visit_f64(f64) => Value::from,
        visit_str(&str) => |v: &str| Value::String(v.to_owned()),
        visit_string(String) => Value::String,
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.other(Value::Null);
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.map(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        self.0.seq(seq)
    }
}

/// Skips a value without building it. Unlike `IgnoredAny` it goes through `deserialize_any`,
/// so serde_json's nesting limit applies to skipped members as it does to `rules::parse_json`.
pub(super) struct Skip;

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Seen::default();
        while let Some(((), key)) = map.next_key_seed(KeySeed(skip_key))? {
            seen.check(None, key)?;
            map.next_value_seed(Skip)?;
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Skip)?.is_some() {}
        Ok(())
    }
}

/// The body root: an object of customer fields.
pub(super) struct Top<'d>(pub(super) &'d mut Decoder);

impl<'de> Walk<'de> for Top<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let d = self.0;
        let mut seen = Seen::default();
        let scalars = members().scalars.len();
        // Keys in the client's order, so changes keep the client's order.
        while let Some((key, raw)) = map.next_key_seed(KeySeed(top_key))? {
            let bit = match key {
                Key::Reload => Some(0),
                Key::Address => Some(1),
                Key::Scalar(i) => Some(2 + i),
                Key::Coll(i) => Some(2 + scalars + i),
                Key::Other => None,
            };
            seen.check(bit, raw)?;
            match key {
                Key::Reload => {
                    let v = map.next_value_seed(Unique)?;
                    match rules::bool_or_null(&v, "/reload") {
                        Ok(b) => d.reload |= b.unwrap_or(false),
                        Err(e) => d.violations.push(e),
                    }
                }
                Key::Address => map.next_value_seed(Walker(AddressWalk(&mut *d)))?,
                Key::Scalar(i) => {
                    let m = &members().scalars[i];
                    d.scalar(m.canon, &m.pointer, map.next_value_seed(Unique)?);
                }
                Key::Coll(i) => map.next_value_seed(Walker(CollWalk(&mut *d, i)))?,
                Key::Other => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(())
    }
    fn other(self, v: Value) {
        if let Err(e) = rules::object(&v, "") {
            self.0.violations.push(e);
        }
    }
}

/// The `address` member.
pub(super) struct AddressWalk<'d>(pub(super) &'d mut Decoder);

impl<'de> Walk<'de> for AddressWalk<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        // `id`, `createdAt`, `modifiedAt` and unknown keys (the docs' `postcalCode` typo) are
        // read-only or unknown to the service and ignored, as it does.
        let mut seen = Seen::default();
        while let Some((AddressKey(key), raw)) = map.next_key_seed(KeySeed(address_key_index))? {
            seen.check(key, raw)?;
            match key {
                Some(i) => {
                    let m = &members().address[i];
                    let v = map.next_value_seed(Unique)?;
                    if m.canon == Field::AddressLines {
                        self.0.lines(v);
                    } else {
                        self.0.scalar(m.canon, &m.pointer, v);
                    }
                }
                None => {
                    map.next_value_seed(Skip)?;
                }
            }
        }
        Ok(())
    }
    fn other(self, v: Value) {
        match v {
            Value::Null => {
                for m in &members().address {
                    let op = Op::Set {
                        field: m.canon,
                        value: Value::Null,
                    };
                    self.0.changes.push(op, "/address");
                }
            }
            other => {
                let e = rules::wrong_type(&other, "an object", "/address");
                self.0.violations.push(e);
            }
        }
    }
}

/// One entry collection (index into [`Members::colls`]).
pub(super) struct CollWalk<'d>(pub(super) &'d mut Decoder, pub(super) usize);

impl<'de> Walk<'de> for CollWalk<'_> {
    fn seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while seq
            .next_element_seed(Walker(EntryWalk(&mut *self.0, self.1, index)))?
            .is_some()
        {
            index += 1;
        }
        Ok(())
    }
    fn other(self, v: Value) {
        // A null collection lists no entries, and entries not listed stay as they are.
        if !v.is_null() {
            let e = rules::wrong_type(&v, "an array", &members().colls[self.1].pointer);
            self.0.violations.push(e);
        }
    }
}

/// The members of one entry object that v1 reads.
#[derive(Default)]
pub(super) struct EntryFields {
    pub(super) id: Option<Value>,
    pub(super) value: Option<Value>,
    pub(super) location: Option<Value>,
    pub(super) kind: Option<Value>,
}

/// One entry object: (decoder, collection index, array index).
pub(super) struct EntryWalk<'d>(
    pub(super) &'d mut Decoder,
    pub(super) usize,
    pub(super) usize,
);

impl<'de> Walk<'de> for EntryWalk<'_> {
    fn map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut f = EntryFields::default();
        let mut seen = Seen::default();
        while let Some((key, raw)) = map.next_key_seed(KeySeed(entry_key))? {
            let bit = match key {
                EntryKey::Id => Some(0),
                EntryKey::Value => Some(1),
                EntryKey::Location => Some(2),
                EntryKey::Type => Some(3),
                EntryKey::Other => None,
            };
            seen.check(bit, raw)?;
            let slot = match key {
                EntryKey::Id => &mut f.id,
                EntryKey::Value => &mut f.value,
                EntryKey::Location => &mut f.location,
                EntryKey::Type => &mut f.kind,
                EntryKey::Other => {
                    map.next_value_seed(Skip)?;
                    continue;
                }
            };
            *slot = Some(map.next_value_seed(Unique)?);
        }
        self.0.entry(self.1, self.2, f);
        Ok(())
    }
    fn other(self, v: Value) {
        let base = format!("{}/{}", members().colls[self.1].pointer, self.2);
        self.0
            .violations
            .push(rules::wrong_type(&v, "an object", &base));
    }
}

impl Decoder {
    pub(super) fn scalar(&mut self, field: Field, pointer: &'static str, value: Value) {
        let value = match value {
            Value::String(mut s) => {
                if let Some(v) = check_scalar(field, &s, pointer) {
                    return self.violations.push(v);
                }
                // Gender is canonical in lower case (docs/dialects.md).
                if field == Field::Gender {
                    s.make_ascii_lowercase();
                }
                Value::String(s)
            }
            Value::Null => Value::Null,
            other => {
                if let Err(v) = rules::string_or_null(&other, pointer) {
                    self.violations.push(v);
                }
                return;
            }
        };
        self.changes.push(Op::Set { field, value }, pointer);
    }

    pub(super) fn lines(&mut self, v: Value) {
        let pointer = "/address/lines";
        match &v {
            Value::Null => {}
            Value::Array(lines) => {
                let before = self.violations.len();
                for (i, line) in lines.iter().enumerate() {
                    if let Err(e) = rules::string(line, "") {
                        let e = relocate(e, format!("{pointer}/{i}"));
                        self.violations.push(e);
                    }
                }
                if self.violations.len() > before {
                    return;
                }
            }
            other => {
                let e = rules::wrong_type(other, "an array of strings", pointer);
                return self.violations.push(e);
            }
        }
        let op = Op::Set {
            field: Field::AddressLines,
            value: v,
        };
        self.changes.push(op, pointer);
    }

    pub(super) fn entry(&mut self, coll_index: usize, index: usize, f: EntryFields) {
        let Member {
            pointer: coll_pointer,
            canon: coll,
            ..
        } = &members().colls[coll_index];
        let coll = *coll;
        // Built by hand: `format!` here was a tenth of decoding a v1 body with three entries.
        let mut digits = itoa::Buffer::new();
        let index = digits.format(index);
        let mut base = String::with_capacity(coll_pointer.len() + 1 + index.len());
        base.push_str(coll_pointer);
        base.push('/');
        base.push_str(index);
        let at = |leaf: &str| format!("{base}/{leaf}");
        let id = match entry_id(f.id.as_ref()) {
            Some(id) => id,
            None => {
                let got = f.id.unwrap_or(Value::Null);
                return self.violations.push(
                    Violation::new(
                        at("id"),
                        Rule::EntryId,
                        "Entry id must be an integer: positive to update, negative to delete, \
                         absent, 0, false or null to create",
                    )
                    .with_value(got),
                );
            }
        };
        if let EntryId::Remove(id) = id {
            // The docs' own example sends value and location along with the negative id: a
            // delete ignores them.
            return self.changes.push(Op::EntryRemove { coll, id }, base);
        }
        let before = self.violations.len();
        // The other dialect's type key is ignored: the official PHP SDK sends `type` and
        // `location` on every entry, one of them null or a copy of the other.
        let kind = match type_key(coll) {
            Some("location") => member_str(f.location, || at("location"), &mut self.violations),
            Some(_) => member_str(f.kind, || at("type"), &mut self.violations),
            None => None,
        };
        let value = member_str(f.value, || at("value"), &mut self.violations);
        if self.violations.len() > before {
            return;
        }
        check_entry(
            coll,
            kind.as_deref(),
            value.as_deref(),
            &at,
            &mut self.violations,
        );
        if self.violations.len() > before {
            return;
        }
        match id {
            EntryId::New => {
                let Some(value) = value else {
                    return self.violations.push(Violation::new(
                        at("value"),
                        Rule::Required,
                        "A value is required to create an entry",
                    ));
                };
                // L4: the e-mail location "Defaults to work".
                let kind = match (coll, kind) {
                    (Coll::Emails, None) => Some("work".to_owned()),
                    (Coll::Websites, _) => None,
                    (_, k) => k,
                };
                self.changes.push(Op::EntryAdd { coll, kind, value }, base);
            }
            EntryId::Update(id) => {
                let op = Op::EntryUpdate(EntryUpdate {
                    coll,
                    id,
                    kind,
                    value,
                });
                self.changes.push(op, base);
            }
            EntryId::Remove(_) => {}
        }
    }
}

/// Walks a body; a syntax error (or trailing data) ends the walk.
pub(super) fn walk_body(text: &str, d: &mut Decoder) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    Walker(Top(d)).deserialize(&mut de)?;
    de.end()
}

pub(super) fn check_target(changes: &[Change]) -> Vec<Violation> {
    let mut out = Vec::new();
    for c in changes {
        let at = |_: &str| c.origin.to_string();
        match &c.op {
            Op::Set {
                field,
                value: Value::String(s),
            } => {
                if let Some(v) = check_scalar(*field, s, &c.origin) {
                    out.push(v);
                }
            }
            Op::EntryAdd { coll, kind, value } => {
                check_entry(*coll, kind.as_deref(), Some(value), &at, &mut out)
            }
            Op::EntryUpdate(EntryUpdate {
                coll, kind, value, ..
            }) => check_entry(*coll, kind.as_deref(), value.as_deref(), &at, &mut out),
            _ => {}
        }
    }
    out
}

pub(super) fn decode_request(
    ep: &Endpoint,
    query: Option<&str>,
    body: &[u8],
) -> Result<ClientRequest, ApiError> {
    // Updates refuse a repeated key while walking the body (`Seen`); other endpoints here.
    if !matches!(ep.kind, EndpointKind::Update { .. }) {
        rules::reject_duplicate_keys(body)?;
    }
    match ep.kind {
        EndpointKind::Update { .. } => {}
        EndpointKind::Get => return Ok(ClientRequest::default()),
        EndpointKind::Properties | EndpointKind::Token | EndpointKind::SubResource { .. } => {
            return Err(ApiError::new(
                ErrorKind::NotFound,
                "The specified resource was not found",
            ))
        }
    }
    let mut d = Decoder {
        changes: ChangeSet::new(),
        violations: Vec::new(),
        reload: false,
    };
    match rules::query_param(query, "reload") {
        None => {}
        Some(v) if v.eq_ignore_ascii_case("true") => d.reload = true,
        Some(v) if v.eq_ignore_ascii_case("false") => {}
        Some(v) => d.violations.push(
            Violation::new("reload", Rule::Type, "Expected a boolean (true or false)")
                .with_value(Value::String(v.to_owned())),
        ),
    }
    let query_violations = d.violations.len();
    // The UTF-8 check comes first: skipped strings are not checked by the walk.
    let walked = std::str::from_utf8(body)
        .ok()
        .map(|text| walk_body(text, &mut d));
    if !matches!(walked, Some(Ok(()))) {
        // The walk stops at the first repeated key or syntax error, as the separate check
        // would: a repeated key before any syntax error is the only error reported, in that
        // check's words. A body that is not UTF-8 is not walked, so the check also covers it.
        rules::reject_duplicate_keys(body)?;
        // Not JSON: the shared parser words the error (it fails the same way).
        let mut e = match (rules::parse_json(body), walked) {
            (Err(e), _) => e,
            (Ok(_), Some(Err(e))) => ApiError::invalid_one(Violation::new(
                "",
                Rule::Json,
                format!("Error parsing request body into JSON: {e}"),
            )),
            (Ok(_), _) => ApiError::new(ErrorKind::Internal, "body walk failed"),
        };
        // Violations found before the syntax error are not reported: only the query's.
        d.violations.truncate(query_violations);
        d.violations.append(&mut e.violations);
        e.violations = d.violations;
        return Err(e);
    }
    if !d.violations.is_empty() {
        return Err(ApiError::invalid(d.violations));
    }
    Ok(ClientRequest {
        changes: d.changes,
        reload: d.reload,
        full: false,
        document: None,
    })
}
