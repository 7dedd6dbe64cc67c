//! The planning rules Terraform holds every provider to, applied from the
//! schema so resources only add what is specific to them:
//! - on create, computed attributes the configuration leaves out are unknown;
//! - defaults fill optional attributes the configuration leaves out;
//! - on update, computed attributes may change only when something else does,
//!   unless marked use-state-for-unknown;
//! - attributes marked requires-replace replace the object when they change.

use super::diag::{AttributePath, Diagnostics};
use super::schema::{Block, Nesting};
use super::value::Value;

/// A plan under construction, handed to a resource's `modify_plan`.
pub struct PlanContext {
    /// Null when the object is being created.
    pub prior: Value,
    pub config: Value,
    pub planned: Value,
    pub requires_replace: Vec<AttributePath>,
    pub diagnostics: Diagnostics,
    /// Attributes the resource itself made unknown; `settle` leaves them.
    explicit_unknowns: Vec<String>,
}

impl PlanContext {
    pub fn is_create(&self) -> bool {
        self.prior.is_null()
    }
    /// True when a top-level attribute's planned value differs from state.
    pub fn changed(&self, name: &str) -> bool {
        match (self.prior.get(name), self.planned.get(name)) {
            (Some(a), Some(b)) => !a.semantically_equal(b),
            (None, None) => false,
            _ => true,
        }
    }
    /// True when anything at all is planned to change.
    pub fn any_change(&self) -> bool {
        !self.prior.semantically_equal(&self.planned)
    }
    /// Plans an update the configuration alone did not (a value the
    /// provider derives changed): computed attributes go unknown as for any
    /// update, since the apply reads them afresh.
    pub fn mark_update(&mut self, block: &Block) {
        mark_computed(block, &mut self.planned, &self.prior, &self.config, false);
    }
    pub fn set(&mut self, name: &str, value: Value) {
        self.planned.set_attr(name, value);
    }
    pub fn set_unknown(&mut self, name: &str) {
        self.planned.set_attr(name, Value::Unknown);
        self.explicit_unknowns.push(name.to_string());
    }
    /// Run after the resource's own adjustments: when those (a policy that
    /// only differs in formatting, say) leave no known value different from
    /// state, nothing changes, so the computed values the schema rules made
    /// unknown keep their state values and the plan is empty.
    pub fn settle(&mut self) {
        if self.is_create() || !self.requires_replace.is_empty() {
            return;
        }
        let (Value::Object(planned), Value::Object(prior)) = (&mut self.planned, &self.prior)
        else {
            return;
        };
        // A value the configuration leaves unknown until apply (another
        // resource's output, say) may differ from state: putting the prior
        // value back would plan no change, and Terraform would skip the apply.
        let config = &self.config;
        let may_change = planned.iter().any(|(k, v)| {
            if v.is_unknown() {
                config.get(k).is_some_and(Value::is_unknown)
            } else {
                prior.get(k).is_none_or(|p| !v.semantically_equal(p))
            }
        });
        if may_change {
            return;
        }
        for (k, v) in planned.iter_mut() {
            if v.is_unknown() && !self.explicit_unknowns.contains(k) {
                if let Some(p) = prior.get(k) {
                    *v = p.clone();
                }
            }
        }
    }
    pub fn require_replace(&mut self, path: AttributePath) {
        if !self.requires_replace.contains(&path) {
            self.requires_replace.push(path);
        }
    }
}

/// Applies the schema's rules to Terraform's proposed new state. `prior` is
/// null on create; `proposed` is never null here (destroy plans need none).
pub fn plan(block: &Block, prior: &Value, proposed: &Value, config: &Value) -> PlanContext {
    let create = prior.is_null();
    let mut planned = proposed.clone();
    drop_absent_single_blocks(block, &mut planned, config);
    apply_defaults(block, &mut planned, config);
    let changed = create
        || (!planned.semantically_equal(prior)
            && !block.only_provider_side_differs(prior, &planned));
    if changed {
        mark_computed(block, &mut planned, prior, config, create);
    }
    let mut requires_replace = Vec::new();
    if !create {
        find_replacements(
            block,
            prior,
            &planned,
            &AttributePath::root(),
            &mut requires_replace,
        );
    }
    PlanContext {
        prior: prior.clone(),
        config: config.clone(),
        planned,
        requires_replace,
        diagnostics: Diagnostics::new(),
        explicit_unknowns: Vec::new(),
    }
}

/// A single block left out of the configuration is planned absent. Terraform
/// before 1.3 proposes the prior block instead when the block is removed
/// (hashicorp/terraform#32460), then rejects that very plan as "planned for
/// existence but config wants absence".
fn drop_absent_single_blocks(block: &Block, planned: &mut Value, config: &Value) {
    for nb in &block.blocks {
        if nb.nesting == Nesting::Single && config.get(&nb.name).is_none_or(Value::is_null) {
            if let Some(pv) = planned.get_mut(&nb.name) {
                *pv = Value::Null;
            }
        }
    }
    for_each_nested(block, planned, config, &mut |b, p, c| {
        drop_absent_single_blocks(b, p, c)
    });
}

fn apply_defaults(block: &Block, planned: &mut Value, config: &Value) {
    for a in &block.attributes {
        if let Some(default) = &a.default {
            if config.get(&a.name).is_none_or(Value::is_null) {
                planned.set_attr(&a.name, default.clone());
            }
        }
    }
    for_each_nested(block, planned, config, &mut |b, p, c| {
        apply_defaults(b, p, c)
    });
}

fn mark_computed(block: &Block, planned: &mut Value, prior: &Value, config: &Value, create: bool) {
    for a in &block.attributes {
        let in_config = config.get(&a.name).is_some_and(|v| !v.is_null());
        if !a.is_computed() || in_config || a.default.is_some() {
            continue;
        }
        if create || !a.use_state_for_unknown {
            planned.set_attr(&a.name, Value::Unknown);
        } else if let Some(p) = prior.get(&a.name) {
            planned.set_attr(&a.name, p.clone());
        }
    }
    for_each_nested(block, planned, config, &mut |b, p, c| {
        // Nested computed attributes are only ever unknown on create; on
        // update Terraform's proposed value already carries them.
        if create {
            mark_computed(b, p, &Value::Null, c, true)
        }
    });
    if create {
        return;
    }
    // ...except in a single block the update adds: there Terraform proposes
    // null for them, which the apply would then contradict.
    for nb in &block.blocks {
        if !matches!(nb.nesting, Nesting::Single | Nesting::Group)
            || prior.get(&nb.name).is_some_and(|p| !p.is_null())
        {
            continue;
        }
        let cfg = config.get(&nb.name).cloned().unwrap_or(Value::Null);
        if let Some(pv @ Value::Object(_)) = planned.get_mut(&nb.name) {
            mark_computed(&nb.block, pv, &Value::Null, &cfg, true);
        }
    }
}

/// Calls `f` on each nested block object of `planned`, paired with the
/// configuration object at the same position.
fn for_each_nested(
    block: &Block,
    planned: &mut Value,
    config: &Value,
    f: &mut dyn FnMut(&Block, &mut Value, &Value),
) {
    for nb in &block.blocks {
        let cfg = config.get(&nb.name).cloned().unwrap_or(Value::Null);
        let Some(pv) = planned.get_mut(&nb.name) else {
            continue;
        };
        match nb.nesting {
            Nesting::Single | Nesting::Group => {
                if matches!(pv, Value::Object(_)) {
                    f(&nb.block, pv, &cfg);
                }
            }
            Nesting::List | Nesting::Set => {
                if let Value::List(items) | Value::Set(items) = pv {
                    let cfg_items = cfg.elements().map(<[Value]>::to_vec).unwrap_or_default();
                    for (i, item) in items.iter_mut().enumerate() {
                        let c = cfg_items.get(i).cloned().unwrap_or(Value::Null);
                        f(&nb.block, item, &c);
                    }
                }
            }
        }
    }
}

fn find_replacements(
    block: &Block,
    prior: &Value,
    planned: &Value,
    path: &AttributePath,
    out: &mut Vec<AttributePath>,
) {
    let differs = |name: &str| match (prior.get(name), planned.get(name)) {
        (Some(a), Some(b)) => !a.semantically_equal(b),
        (None, None) => false,
        _ => true,
    };
    for a in &block.attributes {
        if a.requires_replace && differs(&a.name) {
            out.push(path.then_attr(&a.name));
        }
    }
    for nb in &block.blocks {
        if nb.requires_replace && differs(&nb.name) {
            out.push(path.then_attr(&nb.name));
        } else if nb.nesting == Nesting::Single {
            if let (Some(p), Some(n)) = (prior.get(&nb.name), planned.get(&nb.name)) {
                find_replacements(&nb.block, p, n, &path.then_attr(&nb.name), out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};
    use crate::framework::value::Type;

    fn block() -> Block {
        Block::new()
            .attribute(Attribute::required("name", Type::String).requires_replace())
            .attribute(Attribute::optional("note", Type::String))
            .attribute(Attribute::optional("enabled", Type::Bool).default(Value::Bool(true)))
            .attribute(Attribute::computed("id", Type::String).use_state_for_unknown())
            .attribute(Attribute::computed("state", Type::String))
            .block(
                NestedBlock::single(
                    "timeouts",
                    Block::new().attribute(Attribute::optional("create", Type::String)),
                )
                .provider_only(),
            )
    }

    /// The object as stored after a create with no note.
    fn stored() -> Value {
        obj(
            "a",
            Value::Null,
            Value::Bool(true),
            Value::string("i-1"),
            Value::string("ok"),
        )
    }

    /// `stored()` with a note.
    fn stored_with_note(note: &str) -> Value {
        let mut v = stored();
        v.set_attr("note", Value::string(note));
        v
    }

    fn obj(name: &str, note: Value, enabled: Value, id: Value, state: Value) -> Value {
        Value::object([
            ("name", Value::string(name)),
            ("note", note),
            ("enabled", enabled),
            ("id", id),
            ("state", state),
            ("timeouts", Value::Null),
        ])
    }

    #[test]
    fn a_single_block_removed_from_the_configuration_is_planned_absent() {
        let mut prior = stored();
        prior.set_attr("timeouts", Value::object([("create", Value::string("5m"))]));
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null);
        // What Terraform 1.0 proposes: the removed block kept from prior.
        let mut proposed = prior.clone();
        proposed.set_attr("enabled", Value::Null);
        let pc = plan(&block(), &prior, &proposed, &config);
        assert_eq!(pc.planned.get("timeouts"), Some(&Value::Null));
        assert_eq!(pc.planned.get("id"), Some(&Value::string("i-1")));
    }

    #[test]
    fn create_marks_computed_unknown_and_fills_defaults() {
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null);
        let pc = plan(&block(), &Value::Null, &config, &config);
        assert_eq!(pc.planned.get("id"), Some(&Value::Unknown));
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
        assert_eq!(pc.planned.get("enabled"), Some(&Value::Bool(true)));
        assert!(pc.requires_replace.is_empty());
    }

    #[test]
    fn a_change_the_resource_undoes_leaves_computed_values_alone() {
        let prior = stored_with_note("x");
        let config = obj(
            "a",
            Value::string("x "),
            Value::Null,
            Value::Null,
            Value::Null,
        );
        let proposed = obj(
            "a",
            Value::string("x "),
            Value::Bool(true),
            Value::string("i-1"),
            Value::string("ok"),
        );
        let mut pc = plan(&block(), &prior, &proposed, &config);
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
        // The resource finds "x " means the same as "x".
        pc.set("note", Value::string("x"));
        pc.settle();
        assert_eq!(pc.planned, prior);

        // A value the resource itself made unknown stays unknown.
        let mut pc = plan(&block(), &prior, &proposed, &config);
        pc.set("note", Value::string("x"));
        pc.set_unknown("state");
        pc.settle();
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));

        // A real change keeps the unknowns.
        let mut pc = plan(&block(), &prior, &proposed, &config);
        pc.settle();
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
    }

    #[test]
    fn a_configured_value_unknown_until_apply_is_a_change() {
        let prior = stored_with_note("x");
        // note = another resource's output, not known at plan time.
        let config = obj("a", Value::Unknown, Value::Null, Value::Null, Value::Null);
        let proposed = obj(
            "a",
            Value::Unknown,
            Value::Bool(true),
            Value::string("i-1"),
            Value::string("ok"),
        );
        let mut pc = plan(&block(), &prior, &proposed, &config);
        pc.settle();
        assert_eq!(pc.planned.get("note"), Some(&Value::Unknown));
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
        assert_eq!(pc.planned.get("id"), Some(&Value::string("i-1")));
        assert!(pc.any_change());
    }

    #[test]
    fn a_single_block_added_on_update_plans_its_computed_attributes_unknown() {
        let block = Block::new()
            .attribute(Attribute::required("name", Type::String))
            .block(NestedBlock::single(
                "allow",
                Block::new()
                    .attribute(Attribute::required("port", Type::Number))
                    .attribute(Attribute::computed("cidrs", Type::list(Type::String))),
            ));
        let prior = Value::object([("name", Value::string("a")), ("allow", Value::Null)]);
        let added = |cidrs: Value| {
            Value::object([
                ("name", Value::string("a")),
                (
                    "allow",
                    Value::object([("port", Value::int(443)), ("cidrs", cidrs)]),
                ),
            ])
        };
        let config = added(Value::Null);
        let pc = plan(&block, &prior, &config, &config);
        assert_eq!(
            pc.planned.get("allow").and_then(|a| a.get("cidrs")),
            Some(&Value::Unknown)
        );
        // A block already there keeps what Terraform proposes from state.
        let stored = added(Value::List(vec![Value::string("10.0.0.0/16")]));
        let proposed = stored.clone();
        let pc = plan(&block, &stored, &proposed, &config);
        assert_eq!(pc.planned, stored);
    }

    #[test]
    fn unchanged_update_equals_prior() {
        let prior = stored();
        let config = obj("a", Value::Null, Value::Null, Value::Null, Value::Null);
        let pc = plan(&block(), &prior, &prior, &config);
        assert_eq!(pc.planned, prior);
        assert!(!pc.any_change());
    }

    #[test]
    fn in_place_update_keeps_use_state_and_unknowns_the_rest() {
        let prior = stored();
        let config = obj(
            "a",
            Value::string("hi"),
            Value::Null,
            Value::Null,
            Value::Null,
        );
        let proposed = obj(
            "a",
            Value::string("hi"),
            Value::Bool(true),
            Value::string("i-1"),
            Value::string("ok"),
        );
        let pc = plan(&block(), &prior, &proposed, &config);
        assert_eq!(pc.planned.get("id"), Some(&Value::string("i-1")));
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
        assert!(pc.requires_replace.is_empty());
    }

    #[test]
    fn a_provider_only_change_leaves_computed_values_known() {
        let prior = stored();
        let with_timeouts = |v: &Value| {
            let mut v = v.clone();
            v.set_attr("timeouts", Value::object([("create", Value::string("5m"))]));
            v
        };
        let config = with_timeouts(&obj(
            "a",
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ));
        let proposed = with_timeouts(&prior);
        let b = block();
        let pc = plan(&b, &prior, &proposed, &config);
        assert_eq!(pc.planned, proposed, "only timeouts differ from state");
        assert!(b.only_provider_side_differs(&prior, &pc.planned));

        // With any other change too, the computed state is planned anew.
        let mut noted = proposed.clone();
        noted.set_attr("note", Value::string("hi"));
        let mut noted_config = config.clone();
        noted_config.set_attr("note", Value::string("hi"));
        let pc = plan(&b, &prior, &noted, &noted_config);
        assert_eq!(pc.planned.get("state"), Some(&Value::Unknown));
        assert!(!b.only_provider_side_differs(&prior, &noted));
        assert!(
            !b.only_provider_side_differs(&prior, &prior),
            "no change at all"
        );
    }

    #[test]
    fn replacement_only_for_changed_paths() {
        let prior = stored();
        let config = obj("b", Value::Null, Value::Null, Value::Null, Value::Null);
        let proposed = obj(
            "b",
            Value::Null,
            Value::Bool(true),
            Value::string("i-1"),
            Value::string("ok"),
        );
        let pc = plan(&block(), &prior, &proposed, &config);
        assert_eq!(pc.requires_replace, vec![AttributePath::attr("name")]);
    }
}

/// Whether `actual` keeps what `planned` promised: every known planned
/// value, unknown ones standing for anything (Terraform's rule for the
/// result of an apply). Set elements match in any order.
pub fn keeps(planned: &Value, actual: &Value) -> bool {
    match (planned, actual) {
        (Value::Unknown, _) => true,
        (Value::Set(p), Value::Set(a)) => {
            if !planned.is_fully_known() {
                // Elements with unknowns cannot be paired reliably.
                return true;
            }
            p.len() == a.len() && p.iter().all(|x| a.contains(x))
        }
        (Value::List(p), Value::List(a)) | (Value::Tuple(p), Value::Tuple(a)) => {
            p.len() == a.len() && p.iter().zip(a).all(|(x, y)| keeps(x, y))
        }
        (Value::Map(p), Value::Map(a)) | (Value::Object(p), Value::Object(a)) => {
            p.len() == a.len() && p.iter().all(|(k, x)| a.get(k).is_some_and(|y| keeps(x, y)))
        }
        (Value::Dynamic(_, p), Value::Dynamic(_, a)) => keeps(p, a),
        (p, a) => p == a,
    }
}

/// The top-level attributes whose planned value the result did not keep.
pub fn unkept_attributes<'a>(
    planned: &'a Value,
    actual: &'a Value,
) -> Vec<(&'a str, &'a Value, &'a Value)> {
    let (Value::Object(p), Value::Object(a)) = (planned, actual) else {
        return Vec::new();
    };
    p.iter()
        .filter_map(|(name, want)| {
            let got = a.get(name).unwrap_or(&Value::Null);
            (!keeps(want, got)).then_some((name.as_str(), want, got))
        })
        .collect()
}

#[cfg(test)]
mod keeps_tests {
    use super::*;

    #[test]
    fn known_planned_values_must_be_kept_unknown_ones_may_be_anything() {
        let s = |x: &str| Value::string(x);
        assert!(keeps(&Value::Unknown, &s("x")));
        assert!(keeps(
            &Value::Set(vec![s("a"), s("b")]),
            &Value::Set(vec![s("b"), s("a")])
        ));
        assert!(!keeps(
            &Value::Set(vec![s("ipv6")]),
            &Value::Set(vec![s("ipv4")])
        ));
        let planned = Value::object([
            ("id", Value::Unknown),
            ("types", Value::Set(vec![s("ipv6")])),
            ("name", s("n")),
        ]);
        let actual = Value::object([
            ("id", s("i-1")),
            ("types", Value::Set(vec![s("ipv4")])),
            ("name", s("n")),
        ]);
        let unkept = unkept_attributes(&planned, &actual);
        assert_eq!(unkept.len(), 1);
        assert_eq!(unkept[0].0, "types");
    }
}
