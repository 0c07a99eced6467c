// An order's changes (docs/order-changes.md): each with its actions, who asked and when, its
// price before and after and what the difference means for the payment; Confirm, Decline
// and Cancel while it is requested; and a form that builds a change action by action,
// previews it (`dry_run`, nothing recorded) and requests it.

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { addressLines, clearProblems, field, generalProblem, h, money, notify, showProblems, table, when } from '/console/ui.js';

const QUANTITY = { type: 'number', min: 1, step: 1, inputmode: 'numeric', required: true };
const PRODUCT = ['product_id', 'Product id', { required: true, maxlength: 200, autocomplete: 'off' }];

/// The actions the form offers, in its list's order, each with its fields: `[key, label,
/// attributes]`, a key `address.city` being the action's `address.city`.
const ACTIONS = {
  add_item: { label: 'Add item', fields: [PRODUCT, ['quantity', 'Quantity', QUANTITY]] },
  set_quantity: { label: 'Set quantity', fields: [PRODUCT, ['quantity', 'New quantity', QUANTITY]] },
  remove_item: { label: 'Remove item', fields: [PRODUCT] },
  cancel_item: { label: 'Cancel item', fields: [PRODUCT, ['quantity', 'Quantity (all of the line when empty)', { ...QUANTITY, required: false }]] },
  return_item: { label: 'Return item', fields: [PRODUCT, ['quantity', 'Quantity (all not yet returned when empty)', { ...QUANTITY, required: false }], ['reason', 'Reason for the return', { maxlength: 500 }]] },
  set_shipping_method: { label: 'Set shipping method', fields: [['method', 'Shipping method', { required: true, maxlength: 100 }]] },
  set_discount_code: { label: 'Set discount code', fields: [['code', 'Discount code (empty removes the order’s)', { maxlength: 100, autocomplete: 'off' }]] },
  set_shipping_address: {
    label: 'Set shipping address',
    fields: [
      ['address.full_name', 'Full name', { required: true, maxlength: 200, autocomplete: 'off' }],
      ['address.address_line_1', 'Address line 1', { required: true, maxlength: 200, autocomplete: 'off' }],
      ['address.address_line_2', 'Address line 2 (optional)', { maxlength: 200, autocomplete: 'off' }],
      ['address.city', 'City', { required: true, maxlength: 100, autocomplete: 'off' }],
      ['address.state', 'State or province', { maxlength: 100, autocomplete: 'off' }],
      ['address.postal_code', 'Postal code', { required: true, maxlength: 20, autocomplete: 'off' }],
      ['address.country', 'Country (US, DE, …)', { required: true, minlength: 2, maxlength: 3, autocomplete: 'off' }],
      ['address.phone', 'Phone (optional)', { type: 'tel', maxlength: 40, autocomplete: 'off' }],
    ],
  },
};

const SETTLEMENTS = {
  due: 'due: the customer pays the difference',
  refund: 'refund: the difference goes back to the customer',
  none: 'none: nothing to pay or refund',
};

/// An action as a person reads it: `add 1 × prod-widget`, `ship to …`.
function describe(action) {
  const some = (n) => (n ? `${n} ×` : 'all of');
  switch (action.type) {
    case 'add_item': return `add ${action.quantity} × ${action.product_id}`;
    case 'set_quantity': return `set ${action.product_id} to ${action.quantity}`;
    case 'remove_item': return `remove ${action.product_id}`;
    case 'cancel_item': return `cancel ${some(action.quantity)} ${action.product_id}`;
    case 'return_item': return `return ${some(action.quantity)} ${action.product_id}${action.reason ? ` (${action.reason})` : ''}`;
    case 'set_shipping_address': return `ship to ${addressLines(action.address).join(', ')}`;
    case 'set_shipping_method': return `ship by ${action.method}`;
    case 'set_discount_code': return action.code ? `discount code ${action.code}` : 'remove the discount code';
    default: return action.type.replaceAll('_', ' ');
  }
}

/// A difference for display: `+13.41 USD`, `-5.00 USD`, `0.00 USD`.
function signed(difference) {
  return `${difference.minor > 0 ? '+' : ''}${money(difference)}`;
}

/// A refusal of `actions` (as sent) in words, each problem naming its action and field:
/// `action 1 (add 5 × prod-chair), quantity: only 3 in stock`.
function explain(failure, actions) {
  const problems = failure.problems.length ? failure.problems : [{ message: failure.message, field: failure.field }];
  return problems.map(({ message, field: at }) => {
    const named = /^actions\[(\d+)\](?:\.(.+))?$/.exec(at || '');
    if (!named) return message;
    const n = Number(named[1]);
    const what = actions[n] ? ` (${describe(actions[n])})` : '';
    const part = named[2] ? `, ${named[2].replaceAll('_', ' ')}` : '';
    return `action ${n + 1}${what}${part}: ${message}`;
  }).join('; ');
}

/// The changes section of order `order`, with its `changes` (the API's, oldest first).
export function changesSection(order, changes) {
  return h('section', { 'aria-labelledby': 'changes', class: 'changes' },
    h('h2', { id: 'changes' }, 'Changes'),
    changes.length
      ? h('ol', { class: 'change-list' }, changes.map((change, i) => item(order, change, i + 1)))
      : h('p', { class: 'empty' }, 'None asked for yet.'),
    changeForm(order));
}

function fact(term, value, attrs = {}) {
  return h('div', {}, h('dt', {}, term), h('dd', attrs, value));
}

function item(order, change, n) {
  const heading = `change-${change.id}`;
  // Confirmed, declined or cancelled: when, by whom, and why.
  const ended = change.ended_by
    ? fact(change.state[0].toUpperCase() + change.state.slice(1),
      `${when(change.ended_at)} by ${change.ended_by}${change.end_reason ? `: “${change.end_reason}”` : ''}`,
      { 'data-ended': change.ended_by })
    : null;
  // A section, named by its heading: its tables' scrolling regions are named after it.
  return h('li', { 'data-change': change.id, 'data-state': change.state }, h('section', { 'aria-labelledby': heading },
    h('h3', { id: heading, tabindex: '-1' }, `Change ${n} `, h('span', { class: `badge ${change.state}` }, change.state)),
    h('p', { class: 'refusal', role: 'alert', tabindex: '-1' }),
    h('ul', { class: 'change-actions' }, change.actions.map((a) => h('li', { 'data-type': a.type }, describe(a)))),
    h('dl', { class: 'facts' },
      totals(change),
      fact('Requested', `${when(change.requested_at)} by ${change.requested_by} (${change.role})`, { 'data-requested': change.requested_by }),
      change.reason ? fact('Reason', `“${change.reason}”`) : null,
      ended),
    h('details', {}, h('summary', {}, 'Price and lines before and after'), decided(change)),
    change.state === 'requested' ? decisions(order, change, n, heading) : null));
}

/// Confirm, Decline (which asks why) and Cancel for a requested change.
function decisions(order, change, n, heading) {
  const panel = h('div', {});
  const button = (verb, text, onclick, primary = false) =>
    h('button', { type: 'button', class: primary ? 'primary' : null, 'data-change-action': verb, 'aria-describedby': heading, onclick }, text);
  const decline = button('decline', 'Decline', () => {
    const form = h('form', { class: 'move', 'aria-label': `Decline change ${n}` },
      field('reason', 'Reason for declining (kept with the change)', { required: true, maxlength: 1000 }),
      generalProblem(),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => { panel.replaceChildren(); decline.focus(); } }, 'Back'),
        h('button', { type: 'submit', class: 'primary' }, 'Decline change')));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      end(order, change, 'decline', { reason: form.elements.reason.value.trim() }, 'declined');
    });
    panel.replaceChildren(form);
    form.elements.reason.focus();
  });
  return h('div', {},
    h('div', { class: 'actions wrap' },
      button('confirm', 'Confirm', () => end(order, change, 'confirm', undefined, 'confirmed'), true),
      decline,
      button('cancel', 'Cancel', () => end(order, change, 'cancel', undefined, 'cancelled'))),
    panel);
}

/// Confirms, declines or cancels `change`, then shows the order and its changes again, the
/// focus on that change; a refusal is said in the change's alert, which takes the focus.
async function end(order, change, verb, body, done) {
  for (const b of document.querySelectorAll(`[data-change="${change.id}"] button`)) b.disabled = true;
  let refusal = null;
  try {
    await api(`/api/v1/orders/${order.id}/changes/${change.id}/${verb}`, { method: 'POST', json: body });
  } catch (failure) {
    refusal = `Not ${done}: ${explain(failure, change.actions)}.`;
  }
  await refresh();
  const shown = document.querySelector(`[data-change="${change.id}"]`);
  if (!shown) {
    notify(refusal || `The change was ${done}.`, refusal ? 'error' : 'ok');
    return;
  }
  if (refusal) {
    const alert = shown.querySelector('.refusal');
    alert.textContent = refusal;
    alert.focus();
    return;
  }
  notify(`${order.order_number}: the change was ${done}.`, 'ok');
  shown.querySelector('h3').focus();
}

/// A change's totals before and after, the difference and what it means for the payment,
/// and a return's refund with what it is made of.
function totals(change) {
  const r = change.refund;
  return [
    fact('Total before', money(change.before.total), { 'data-total': 'before', 'data-minor': String(change.before.total.minor) }),
    fact('Total after', money(change.after.total), { 'data-total': 'after', 'data-minor': String(change.after.total.minor) }),
    fact('Difference', signed(change.difference), { 'data-difference': String(change.difference.minor) }),
    fact('Settlement', SETTLEMENTS[change.settlement] || change.settlement, { 'data-settlement': change.settlement }),
    r ? fact('Refund', `${money(r.total)}: items ${money(r.items)}, tax ${money(r.tax)}, shipping ${money(r.shipping)}, less a restocking fee of ${money(r.restocking_fee)}`, { 'data-refund': String(r.total.minor) }) : null,
  ];
}

/// What a change decides: the price before and after, the lines, where and how it ships.
function decided(change) {
  const rows = ['subtotal', 'discount', 'tax', 'shipping', 'total'].map((k) =>
    h('tr', {}, h('th', { scope: 'row' }, k),
      h('td', { class: 'number', 'data-before': k, 'data-minor': String(change.before[k].minor) }, money(change.before[k])),
      h('td', { class: 'number', 'data-after': k, 'data-minor': String(change.after[k].minor) }, money(change.after[k]))));
  const p = change.proposal;
  return h('div', { class: 'columns' },
    table(['amount', 'before', 'after'], rows),
    table(['item', 'unit price', 'quantity', 'line total'], p.items.map((i) =>
      h('tr', { 'data-product': i.product_id },
        h('th', { scope: 'row' }, `${i.name} (${i.sku})`), h('td', { class: 'number' }, money(i.unit_price)),
        h('td', { class: 'number', 'data-quantity': String(i.quantity) }, String(i.quantity)), h('td', { class: 'number' }, money(i.line_total)))),
    { class: 'cards' }),
    h('dl', { class: 'facts' },
      fact('Ship to', addressLines(p.shipping_address).join(', ')),
      fact('Shipping method', p.shipping_method),
      fact('Discount code', p.discount_code || 'none')));
}

/// 16 random bytes as a version 4 UUID: a request's Idempotency-Key. `crypto.randomUUID`
/// exists on secure origins only, and the console may be served over plain HTTP.
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/// The form that builds a change: its actions, one fieldset each, a reason; Preview asks
/// what it would make of the order, Request records it.
function changeForm(order) {
  const products = order.items.map((i) => i.product_id);
  const rows = h('ol', { class: 'action-rows' });
  const refusal = h('p', { class: 'refusal', role: 'alert', tabindex: '-1' });
  const preview = h('div', { class: 'preview-slot' });
  const kind = field('action-type', 'Action to add', { options: Object.entries(ACTIONS).map(([type, a]) => [type, a.label]) });
  const buttons = [
    h('button', { type: 'submit', value: 'preview' }, 'Preview'),
    h('button', { type: 'submit', value: 'request', class: 'primary' }, 'Request'),
  ];
  const form = h('form', { class: 'change-form', 'aria-labelledby': 'new-change' },
    h('h3', { id: 'new-change' }, 'New change'),
    h('p', { class: 'hint' }, 'The actions apply in order. Preview decides and prices the order they make, recording nothing; Request records the change, to be confirmed.'),
    refusal,
    h('span', { class: 'problem', 'data-for': 'actions' }),
    rows,
    h('div', { class: 'actions wrap add-action' }, kind,
      h('button', { type: 'button', 'data-add-action': '', onclick: () => add(form.elements['action-type'].value).querySelector('input').focus() }, 'Add action')),
    field('reason', 'Reason (optional, kept with the change)', { maxlength: 1000 }),
    generalProblem(),
    h('div', { class: 'actions' }, buttons),
    preview);

  // One key per request as the form has it: a retry of the same request (its answer was
  // lost) is recorded once; any edit makes another request, with a new key.
  let key = null;
  const edited = () => {
    key = null;
    const shown = preview.querySelector('[data-preview]');
    if (shown && !shown.dataset.stale) {
      shown.dataset.stale = 'true';
      shown.querySelector('h4').after(h('p', { class: 'hint', 'data-stale-hint': '' }, 'The form changed since this preview: preview again to see what it makes now.'));
    }
  };
  form.addEventListener('input', edited);

  const renumber = () => {
    [...rows.children].forEach((row, i) => {
      row.querySelector('legend').textContent = `Action ${i + 1}: ${ACTIONS[row.dataset.actionType].label}`;
      row.querySelector('.problem[data-row]').dataset.for = `actions[${i}]`;
      for (const f of row.querySelectorAll('[data-key]')) {
        const name = `actions[${i}].${f.dataset.key}`;
        f.querySelector('input').name = name;
        f.querySelector('.problem').dataset.for = name;
      }
    });
  };
  function add(type) {
    const address = order.shipping.address;
    const legend = `action-${Math.random().toString(36).slice(2, 8)}`;
    const row = h('li', { 'data-action-type': type },
      h('fieldset', {},
        h('legend', { id: legend }),
        h('span', { class: 'problem', 'data-row': '' }),
        h('div', { class: 'fields' }, ACTIONS[type].fields.map(([k, label, attrs]) => {
          const prefilled = k.startsWith('address.') ? address[k.slice('address.'.length)] : null;
          const wrapper = field(k, label, { ...attrs, value: prefilled || null, suggestions: k === 'product_id' ? products : null });
          wrapper.dataset.key = k;
          return wrapper;
        })),
        h('button', {
          type: 'button', 'aria-describedby': legend, onclick: () => {
            const next = row.nextElementSibling || row.previousElementSibling;
            row.remove();
            renumber();
            edited();
            (next ? next.querySelector('input') : form.elements['action-type']).focus();
          },
        }, 'Remove')));
    rows.append(row);
    renumber();
    edited();
    return row;
  }
  add('add_item');

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const requesting = e.submitter?.value === 'request';
    clearProblems(form);
    refusal.textContent = '';
    const actions = [...rows.children].map(read);
    const body = { actions };
    const reason = form.elements.reason.value.trim();
    if (reason) body.reason = reason;
    if (!requesting) body.dry_run = true;
    for (const b of buttons) b.disabled = true;
    let change;
    try {
      change = await api(`/api/v1/orders/${order.id}/changes`, {
        method: 'POST', json: body, headers: requesting ? { 'Idempotency-Key': (key ??= uuid()) } : {},
      });
    } catch (failure) {
      for (const b of buttons) b.disabled = false;
      showProblems(form, failure);
      const verdict = failure.status >= 400 && failure.status < 500 ? 'refused' : 'failed';
      refusal.textContent = `${requesting ? 'Request' : 'Preview'} ${verdict}: ${explain(failure, actions)}.`;
      refusal.focus();
      return;
    }
    for (const b of buttons) b.disabled = false;
    if (!requesting) {
      showPreview(preview, change);
      return;
    }
    await refresh();
    notify(`${order.order_number}: change requested.`, 'ok');
    document.querySelector(`[data-change="${change.id}"] h3`)?.focus();
  });
  return form;
}

/// A row's action as the API takes it: quantities as numbers, an empty optional field left
/// out, an empty discount code `null` (it removes the order's).
function read(row) {
  const action = { type: row.dataset.actionType };
  for (const f of row.querySelectorAll('[data-key]')) {
    const input = f.querySelector('input');
    const value = input.value.trim();
    const [first, second] = f.dataset.key.split('.');
    if (first === 'code') action.code = value || null;
    else if (!value) continue;
    else if (second) (action[first] ||= {})[second] = value;
    else action[first] = input.type === 'number' ? Number(value) : value;
  }
  return action;
}

function showPreview(slot, change) {
  const heading = h('h4', { tabindex: '-1' }, 'Preview (nothing recorded)');
  slot.replaceChildren(h('section', { class: 'preview', 'data-preview': '', 'aria-label': 'Preview' },
    heading,
    h('dl', { class: 'facts' }, totals(change)),
    decided(change)));
  heading.focus();
}
