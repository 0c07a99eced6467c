//! What the workflow's lifecycle plugin decides about a change: whether each part of the
//! order may change now (`allow-change`) and what a return refunds (`refund`). A plugin of a
//! contract before 0.4.0 has neither decision, and the defaults of [`policy`] decide.

use super::{ChangeAction, policy};
use crate::domain::{Actor, ChangeKind, Problem, Refund, ReturnRequest};
use crate::orders::service::decided;
use crate::orders::{DecisionRecord, Order, OrderError};
use crate::plugins::{PluginKind, Workflow};
use chrono::{DateTime, Utc};

/// Every action of `actions` may be made by `by` now, or each refused one is named
/// (`actions[i]`) with the rules' reason. Each part of the order is asked about once.
pub(super) fn allowed(
    workflow: &Workflow,
    order: &Order,
    by: &Actor,
    actions: &[ChangeAction],
    now: DateTime<Utc>,
    decisions: &mut Vec<DecisionRecord>,
) -> Result<(), OrderError> {
    let lifecycle = workflow.deciding(PluginKind::Lifecycle, &order.user_id);
    let view = order.view();
    let mut verdicts: Vec<(ChangeKind, Option<Problem>)> = Vec::new();
    let mut refused = Vec::new();
    for (i, action) in actions.iter().enumerate() {
        let kind = action.kind();
        let verdict = match verdicts.iter().find(|(k, _)| *k == kind) {
            Some((_, verdict)) => verdict.clone(),
            None => {
                let asked = lifecycle.allow_change(&view, kind, by, now.timestamp_millis());
                let verdict = match asked {
                    Some(decision) => match decided(decision, "allow_change", now, decisions) {
                        Ok(()) => None,
                        Err(OrderError::Refused(problems)) => problems.into_iter().next(),
                        Err(fault) => return Err(fault),
                    },
                    None => policy::refusal(workflow.machine(), &order.status, kind).map(|why| {
                        Problem {
                            code: "change_not_allowed".into(),
                            message: why,
                            field: None,
                        }
                    }),
                };
                verdicts.push((kind, verdict.clone()));
                verdict
            }
        };
        if let Some(problem) = verdict {
            refused.push(Problem {
                field: Some(format!("actions[{i}]")),
                ..problem
            });
        }
    }
    match refused.is_empty() {
        true => Ok(()),
        false => Err(OrderError::Refused(refused)),
    }
}

/// What the return `request` of `order` refunds, as the rules decide it at `now`.
pub(super) fn refund(
    workflow: &Workflow,
    order: &Order,
    request: &ReturnRequest,
    now: DateTime<Utc>,
    decisions: &mut Vec<DecisionRecord>,
) -> Result<Refund, OrderError> {
    let lifecycle = workflow.deciding(PluginKind::Lifecycle, &order.user_id);
    match lifecycle.refund(&order.view(), request, now.timestamp_millis()) {
        Some(decision) => decided(decision, "refund", now, decisions),
        None => policy::refund(request, now.timestamp_millis())
            .map_err(|p| OrderError::Refused(vec![p])),
    }
}
