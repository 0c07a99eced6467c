//! The glue between a plugin's rules and its world's exports, written once here so that
//! every plugin behaves alike where the contract leaves room: `configure` keeps the rules
//! made of the workflow's parameters, once (a second call is refused as
//! `already_configured`); a decision asked before `configure` is refused as
//! `not_configured`, never a trap; a lifecycle's `describe` before `configure` shows the
//! machine of the default parameters.
//!
//! A plugin's `lib.rs` names its rules, e.g.
//! `orderflow_plugin_sdk::export_pricing!(rules::Params, rules::price);`. The type named
//! makes itself of the parameters with `fn from_json(json: &str) -> Result<Self, E>`, where
//! `E` is the world's `Problem` or a `String` message (refused as `invalid_params`).
//!
//! The exports are built for wasm only: natively the rules are tested directly, and the WIT
//! export names are not valid native linker symbols.

use std::marker::PhantomData;
use std::sync::OnceLock;

/// Each world's bindings have a `Problem` type of their own; the glue makes any of them.
pub trait WorldProblem {
    fn new(code: &str, message: &str) -> Self;
}

/// How `from_json` may refuse a workflow's parameters: with the world's `Problem`, or with a
/// message, which becomes an `invalid_params` problem.
pub trait Refusal<P> {
    fn into_problem(self) -> P;
}

impl<P: WorldProblem> Refusal<P> for P {
    fn into_problem(self) -> P {
        self
    }
}

impl<P: WorldProblem> Refusal<P> for String {
    fn into_problem(self) -> P {
        P::new("invalid_params", &self)
    }
}

/// The rules of a plugin instance, set by `configure`; `P` is the world's `Problem`.
pub struct Configured<T, P>(OnceLock<T>, PhantomData<fn() -> P>);

impl<T, P: WorldProblem> Configured<T, P> {
    pub const fn new() -> Self {
        Configured(OnceLock::new(), PhantomData)
    }

    /// Keeps the rules `from_json` made, or passes its refusal on. The host configures an
    /// instance once, before its one decision: a second call is a host bug, refused rather
    /// than ignored, so that it is seen and an instance never decides by rules it was not
    /// checked with.
    pub fn configure(&self, rules: Result<T, impl Refusal<P>>) -> Result<(), P> {
        let rules = rules.map_err(Refusal::into_problem)?;
        self.0
            .set(rules)
            .map_err(|_| P::new("already_configured", "configure was called twice"))
    }

    /// The rules, for a decision. One asked before `configure` is refused, not a panic: a
    /// trap would kill the instance and tell the host less.
    pub fn rules(&self) -> Result<&T, P> {
        self.0
            .get()
            .ok_or_else(|| P::new("not_configured", "configure was not called"))
    }

    /// The rules, if configured.
    pub fn get(&self) -> Option<&T> {
        self.0.get()
    }
}

impl<T, P: WorldProblem> Default for Configured<T, P> {
    fn default() -> Self {
        Self::new()
    }
}

/// Exports a validation plugin: `$params` (with its `from_json`) and
/// `$validate: fn(&$params, &OrderDraft, Timestamp) -> Result<(), Vec<Problem>>`, a
/// function or a closure, e.g. `|params, order, _now| rules::validate(params, order)`.
#[macro_export]
macro_rules! export_validation {
    ($params:ty, $validate:expr $(,)?) => {
        $crate::__export_plugin! {
            validation,
            $params,
            fn validate(
                order: $crate::validation::orderflow::plugins::types::OrderDraft,
                now: $crate::validation::orderflow::plugins::types::Timestamp,
            ) -> Result<(), Vec<$crate::validation::orderflow::plugins::types::Problem>> {
                let validate: fn(
                    &$params,
                    &$crate::validation::orderflow::plugins::types::OrderDraft,
                    $crate::validation::orderflow::plugins::types::Timestamp,
                ) -> Result<
                    (),
                    Vec<$crate::validation::orderflow::plugins::types::Problem>,
                > = $validate;
                // Validation refuses with a list: a lone problem is a list of one.
                validate(RULES.rules().map_err(|p| vec![p])?, &order, now)
            }
        }
    };
}

/// Exports a pricing plugin: `$params` (with its `from_json`) and
/// `$price: fn(&$params, &OrderDraft, Timestamp) -> Result<Quote, Problem>`, a function
/// or a closure, e.g. `|params, order, _now| rules::price(params, order)`.
#[macro_export]
macro_rules! export_pricing {
    ($params:ty, $price:expr $(,)?) => {
        $crate::__export_plugin! {
            pricing,
            $params,
            fn price(
                order: $crate::pricing::orderflow::plugins::types::OrderDraft,
                now: $crate::pricing::orderflow::plugins::types::Timestamp,
            ) -> Result<
                $crate::pricing::exports::orderflow::plugins::pricing::Quote,
                $crate::pricing::orderflow::plugins::types::Problem,
            > {
                let price: fn(
                    &$params,
                    &$crate::pricing::orderflow::plugins::types::OrderDraft,
                    $crate::pricing::orderflow::plugins::types::Timestamp,
                ) -> Result<
                    $crate::pricing::exports::orderflow::plugins::pricing::Quote,
                    $crate::pricing::orderflow::plugins::types::Problem,
                > = $price;
                price(RULES.rules()?, &order, now)
            }
        }
    };
}

/// Exports a lifecycle plugin: `$rules` (with its `from_json`), which implements
/// [`machine::Lifecycle`](crate::machine::Lifecycle).
#[macro_export]
macro_rules! export_lifecycle {
    ($rules:ty $(,)?) => {
        $crate::__export_plugin! {
            lifecycle,
            $rules,
            fn describe() -> $crate::lifecycle::exports::orderflow::plugins::lifecycle::Machine {
                match RULES.get() {
                    Some(rules) => $crate::machine::Lifecycle::machine(rules),
                    None => <$rules as $crate::machine::Lifecycle>::default_machine(),
                }
            }

            fn create(
                order: $crate::lifecycle::exports::orderflow::plugins::lifecycle::PricedOrder,
                _now: $crate::lifecycle::orderflow::plugins::types::Timestamp,
            ) -> Result<
                $crate::lifecycle::exports::orderflow::plugins::lifecycle::Transition,
                $crate::lifecycle::orderflow::plugins::types::Problem,
            > {
                Ok($crate::machine::Lifecycle::create(RULES.rules()?, &order))
            }

            fn change_status(
                order: $crate::lifecycle::exports::orderflow::plugins::lifecycle::OrderView,
                change: $crate::lifecycle::exports::orderflow::plugins::lifecycle::StatusChange,
                by: $crate::lifecycle::exports::orderflow::plugins::lifecycle::Actor,
                _now: $crate::lifecycle::orderflow::plugins::types::Timestamp,
            ) -> Result<
                $crate::lifecycle::exports::orderflow::plugins::lifecycle::Transition,
                $crate::lifecycle::orderflow::plugins::types::Problem,
            > {
                $crate::machine::Lifecycle::change_status(RULES.rules()?, &order, &change, &by)
            }

            fn change_payment(
                order: $crate::lifecycle::exports::orderflow::plugins::lifecycle::OrderView,
                change: $crate::lifecycle::exports::orderflow::plugins::lifecycle::PaymentChange,
                by: $crate::lifecycle::exports::orderflow::plugins::lifecycle::Actor,
                _now: $crate::lifecycle::orderflow::plugins::types::Timestamp,
            ) -> Result<
                $crate::lifecycle::exports::orderflow::plugins::lifecycle::Transition,
                $crate::lifecycle::orderflow::plugins::types::Problem,
            > {
                $crate::machine::Lifecycle::change_payment(RULES.rules()?, &order, &change, &by)
            }

            fn allow_change(
                order: $crate::lifecycle::exports::orderflow::plugins::lifecycle::OrderView,
                change: $crate::lifecycle::exports::orderflow::plugins::lifecycle::ChangeKind,
                by: $crate::lifecycle::exports::orderflow::plugins::lifecycle::Actor,
                now: $crate::lifecycle::orderflow::plugins::types::Timestamp,
            ) -> Result<(), $crate::lifecycle::orderflow::plugins::types::Problem> {
                $crate::machine::Lifecycle::allow_change(RULES.rules()?, &order, change, &by, now)
            }

            fn refund(
                order: $crate::lifecycle::exports::orderflow::plugins::lifecycle::OrderView,
                request: $crate::lifecycle::exports::orderflow::plugins::lifecycle::ReturnRequest,
                now: $crate::lifecycle::orderflow::plugins::types::Timestamp,
            ) -> Result<
                $crate::lifecycle::exports::orderflow::plugins::lifecycle::RefundQuote,
                $crate::lifecycle::orderflow::plugins::types::Problem,
            > {
                $crate::machine::Lifecycle::refund(RULES.rules()?, &order, &request, now)
            }
        }
    };
}

/// What the three export macros share: the rules kept in `RULES`, `configure`, the export.
/// `$decisions` are the world's other functions, reading `RULES`.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_plugin {
    ($kind:ident, $rules:ty, $($decisions:tt)*) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            static RULES: $crate::Configured<
                $rules,
                $crate::$kind::orderflow::plugins::types::Problem,
            > = $crate::Configured::new();

            struct Plugin;

            impl $crate::$kind::exports::orderflow::plugins::$kind::Guest for Plugin {
                fn configure(
                    params: String,
                ) -> Result<(), $crate::$kind::orderflow::plugins::types::Problem> {
                    RULES.configure(<$rules>::from_json(&params))
                }

                $($decisions)*
            }

            $crate::$kind::export!(Plugin with_types_in $crate::$kind);
        };
    };
}

#[cfg(test)]
mod tests {
    use super::Configured;
    use crate::pricing::orderflow::plugins::types::Problem;
    use crate::pricing::problem;

    fn code<T>(result: Result<T, Problem>) -> String {
        result.err().map(|p| p.code).unwrap_or_default()
    }

    #[test]
    fn rules_are_configured_once() {
        let rules = Configured::<u32, Problem>::new();
        assert_eq!(code(rules.rules()), "not_configured");
        assert_eq!(rules.get(), None);
        rules.configure(Ok::<_, Problem>(1)).unwrap();
        assert_eq!(rules.rules().ok(), Some(&1));
        assert_eq!(
            code(rules.configure(Ok::<_, Problem>(2))),
            "already_configured"
        );
        assert_eq!(rules.get(), Some(&1));
    }

    #[test]
    fn a_refusal_is_a_problem_or_a_message() {
        let rules = Configured::<u32, Problem>::new();
        let refused = rules.configure(Err("tax_bp exceeds 100 %".to_string()));
        assert_eq!(
            refused,
            Err(problem("invalid_params", "tax_bp exceeds 100 %", None))
        );
        let own = problem("bad_currency", "not ISO-4217", Some("currency"));
        assert_eq!(rules.configure(Err::<u32, _>(own.clone())), Err(own));
        // A refused configure configures nothing.
        assert_eq!(code(rules.rules()), "not_configured");
    }
}
