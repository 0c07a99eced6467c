//! A change's preview: the order as its actions would make it, checked as a new order's
//! request is (every text, every limit), then gathered (today's products and prices),
//! validated and priced by the order's own workflow, exactly as a new order is. A problem
//! with a line or field an action touched is named by that action (`actions[1].quantity`).

use super::returns::{PAID, not_alone, propose_return};
use super::{ChangeAction, OrderChange, Proposal, Settlement, confirmed, rules};
use crate::domain::{Address, ChangeKind, Money, Problem, Quote};
use crate::orders::place::{gather, order_items, validate_and_price};
use crate::orders::service::refused;
use crate::orders::{Caller, DecisionRecord, NewItem, NewOrder, Order, OrderError, OrderService};
use crate::plugins::Workflow;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The most actions one change may carry.
const MAX_ACTIONS: usize = 100;

impl OrderService {
    /// The change `actions` would make to `order`, as `caller` asks it, decided at `now`.
    pub(super) async fn propose(
        &self,
        caller: &Caller,
        order: &Order,
        actions: Vec<ChangeAction>,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<OrderChange, OrderError> {
        if actions.is_empty() || actions.len() > MAX_ACTIONS {
            return Err(refused(
                "invalid_actions",
                format!("a change has 1 to {MAX_ACTIONS} actions"),
                "actions".into(),
            ));
        }
        let workflow = self.workflow(&order.provenance.workflow)?;
        let mut decisions = Vec::with_capacity(3);
        let by = caller.actor();
        rules::allowed(&workflow, order, &by, &actions, now, &mut decisions)?;
        let (after, proposal, refund) = match actions.iter().any(|a| a.kind() == ChangeKind::Return)
        {
            true => {
                let (refund, items) =
                    propose_return(&workflow, order, &actions, now, &mut decisions)?;
                let proposal = Proposal {
                    items,
                    shipping_address: order.shipping.address.clone(),
                    shipping_method: order.shipping.method.clone(),
                    discount_code: order.discount_code.clone(),
                };
                (order.pricing.clone(), proposal, Some(refund))
            }
            false => {
                let (after, proposal) =
                    (self.edited(&workflow, order, &actions, now, &mut decisions)).await?;
                (after, proposal, None)
            }
        };
        let difference = match &refund {
            Some(refund) => Money::new(-refund.total.minor, refund.total.currency),
            None => (after.total.checked_sub(order.pricing.total)).map_err(|_| {
                refused(
                    "currency_differs",
                    "the change prices the order in another currency".into(),
                    "actions".into(),
                )
            })?,
        };
        // Unpaid, a lower total is simply what will be paid: nothing to refund.
        let paid = PAID.contains(&order.payment_status.as_str());
        let settlement = match difference.minor.signum() {
            1 => Settlement::Due,
            -1 if paid => Settlement::Refund,
            _ => Settlement::None,
        };
        Ok(OrderChange {
            id: Uuid::now_v7(),
            state: super::ChangeState::Requested,
            actions,
            requested_by: caller.user_id.to_string(),
            role: by.role,
            requested_at: now,
            reason,
            ended_by: None,
            ended_at: None,
            end_reason: None,
            before: order.pricing.clone(),
            after,
            difference,
            refund,
            settlement,
            proposal,
            decisions,
            base: confirmed(&order.changes),
            key: None,
        })
    }

    /// The order as edit `actions` would make it, validated and priced as a new order.
    async fn edited(
        &self,
        workflow: &Workflow,
        order: &Order,
        actions: &[ChangeAction],
        now: DateTime<Utc>,
        decisions: &mut Vec<DecisionRecord>,
    ) -> Result<(Quote, Proposal), OrderError> {
        let (new, blame) = requested(order, actions)?;
        let new = new.checked().map_err(|e| blame.on(e))?;
        let mut gathered =
            (gather(&self.products, &order.user_id, new).await).map_err(|e| blame.on(e))?;
        (self
            .show_available(workflow, &mut gathered.draft, Some(order))
            .await)
            .map_err(|e| blame.on(e))?;
        let after = validate_and_price(workflow, &gathered.draft, now, &mut None, decisions)
            .map_err(|e| blame.on(e))?;
        let line_totals = gathered.line_totals.map_err(|e| blame.on(e))?;
        let draft = gathered.draft;
        let mut items = order_items(draft.items, line_totals);
        // Units returned stay returned, where rules let the lines change after a return.
        for line in &mut items {
            let before = order.items.iter().find(|l| l.product_id == line.product_id);
            let returned = before.map_or(0, |l| l.returned_quantity);
            line.returned_quantity = returned.min(line.quantity);
        }
        let proposal = Proposal {
            items,
            shipping_address: draft.shipping_address,
            shipping_method: draft.shipping_method,
            discount_code: draft.discount_code,
        };
        Ok((after, proposal))
    }
}

/// Which action touched which part of the proposed order, so that a problem found there is
/// named by the action.
#[derive(Default)]
struct Blame {
    /// By proposed line: the last action that touched it.
    lines: Vec<Option<usize>>,
    address: Option<usize>,
    method: Option<usize>,
    code: Option<usize>,
}

impl Blame {
    /// `error` with each problem's field named by the action that touched it.
    fn on(&self, error: OrderError) -> OrderError {
        let OrderError::Refused(problems) = error else {
            return error;
        };
        let problems = problems
            .into_iter()
            .map(|p| Problem {
                field: p.field.map(|f| self.field(&f)),
                ..p
            })
            .collect();
        OrderError::Refused(problems)
    }

    fn field(&self, field: &str) -> String {
        let by = |action: Option<usize>, rest: &str, name: &str| match action {
            Some(i) => format!("actions[{i}].{name}{rest}"),
            None => field.to_owned(),
        };
        if let Some(rest) = field.strip_prefix("items[") {
            let (line, rest) = rest.split_once(']').unwrap_or((rest, ""));
            let action = line.parse::<usize>().ok().and_then(|l| *self.lines.get(l)?);
            return match action {
                Some(i) => format!("actions[{i}]{rest}"),
                None => field.to_owned(),
            };
        }
        if let Some(rest) = field.strip_prefix("shipping_address") {
            return by(self.address, rest, "address");
        }
        match field {
            "shipping_method" => by(self.method, "", "method"),
            "discount_code" => by(self.code, "", "code"),
            _ => field.to_owned(),
        }
    }
}

/// The order as `actions` would ask for it (a new order's request, to be checked and decided
/// as one), and who touched what; an action that cannot apply is refused by its index.
fn requested(order: &Order, actions: &[ChangeAction]) -> Result<(NewOrder, Blame), OrderError> {
    let mut items: Vec<NewItem> = (order.items.iter())
        .map(|line| NewItem {
            product_id: line.product_id.clone(),
            quantity: line.quantity,
        })
        .collect();
    let mut blame = Blame {
        lines: vec![None; items.len()],
        ..Blame::default()
    };
    let mut address: Address = order.shipping.address.clone();
    let (mut method, mut code) = (order.shipping.method.clone(), order.discount_code.clone());
    let line_of = |items: &[NewItem], i: usize, product: &str| {
        (items.iter().position(|line| line.product_id == product)).ok_or_else(|| {
            refused(
                "not_in_order",
                format!("the order has no line of product {product}"),
                format!("actions[{i}].product_id"),
            )
        })
    };
    let at_least_one = |i: usize| {
        refused(
            "invalid_quantity",
            "a quantity is at least 1 (remove_item takes a line away)".into(),
            format!("actions[{i}].quantity"),
        )
    };
    for (i, action) in actions.iter().enumerate() {
        match action {
            ChangeAction::AddItem { quantity: 0, .. }
            | ChangeAction::SetQuantity { quantity: 0, .. } => return Err(at_least_one(i)),
            ChangeAction::AddItem {
                product_id,
                quantity,
            } => match items.iter().position(|line| &line.product_id == product_id) {
                Some(line) => {
                    items[line].quantity = (items[line].quantity.checked_add(*quantity))
                        .ok_or_else(|| {
                            refused(
                                "invalid_quantity",
                                "the line's quantity would be too large".into(),
                                format!("actions[{i}].quantity"),
                            )
                        })?;
                    blame.lines[line] = Some(i);
                }
                None => {
                    items.push(NewItem {
                        product_id: product_id.clone(),
                        quantity: *quantity,
                    });
                    blame.lines.push(Some(i));
                }
            },
            ChangeAction::RemoveItem { product_id } => {
                let line = line_of(&items, i, product_id)?;
                items.remove(line);
                blame.lines.remove(line);
            }
            ChangeAction::SetQuantity {
                product_id,
                quantity,
            } => {
                let line = line_of(&items, i, product_id)?;
                items[line].quantity = *quantity;
                blame.lines[line] = Some(i);
            }
            ChangeAction::CancelItem {
                product_id,
                quantity,
            } => {
                let line = line_of(&items, i, product_id)?;
                match quantity {
                    Some(0) => return Err(at_least_one(i)),
                    Some(cancelled) if *cancelled < items[line].quantity => {
                        items[line].quantity -= cancelled;
                        blame.lines[line] = Some(i);
                    }
                    Some(cancelled) if *cancelled > items[line].quantity => {
                        return Err(refused(
                            "invalid_quantity",
                            format!("the line has {} units", items[line].quantity),
                            format!("actions[{i}].quantity"),
                        ));
                    }
                    _ => {
                        items.remove(line);
                        blame.lines.remove(line);
                    }
                }
            }
            ChangeAction::SetShippingAddress { address: to } => {
                address = to.clone();
                blame.address = Some(i);
            }
            ChangeAction::SetShippingMethod { method: to } => {
                method = to.clone();
                blame.method = Some(i);
            }
            ChangeAction::SetDiscountCode { code: to } => {
                code = to.clone();
                blame.code = Some(i);
            }
            // A change with a return is proposed as one (`returns`), never as an edit.
            ChangeAction::ReturnItem { .. } => return Err(not_alone(i)),
        }
    }
    let new = NewOrder {
        items,
        shipping_address: address,
        shipping_method: method,
        payment_method: order.payment.method.clone(),
        discount_code: code,
        notes: order.notes.clone(),
        sales_channel: None,
    };
    Ok((new, blame))
}
