// Stock: every product's ledger beside what the live orders hold of it (the
// reconciliation), and one product's page: on hand, reserved, available, the orders
// holding it, and an adjustment with its reason (docs/stock.md).

import { api } from '/console/api.js';
import { refresh } from '/console/app.js';
import { clearProblems, field, generalProblem, h, notify, showProblems, table } from '/console/ui.js';

const count = (n, name) => h('td', { class: 'number', 'data-count': name }, String(n));

export async function render(page) {
  const { consistent, products } = await api('/api/v1/inventory/reconciliation');
  page.append(
    h('h1', {}, 'Stock'),
    h('p', { class: 'hint' }, 'Products some order reserved on a workflow that reserves stock. Reserved is what the ledger holds; held by orders, what the live orders stored hold; in doubt, what writes not known to have landed moved (MongoDB settles them within a minute).'),
    h('p', { 'data-consistent': String(consistent), class: consistent ? null : 'failure', role: consistent ? null : 'alert' },
      consistent ? 'The ledger equals what the orders hold.' : 'The ledger differs from what the orders hold: see the rows marked.'),
    products.length
      ? table(['product', 'on hand', 'reserved', 'available', 'held by orders', 'in doubt'], products.map((p) => {
        const differs = p.reserved !== p.held_by_orders + p.in_doubt;
        return h('tr', { 'data-product': p.product_id, class: differs ? 'differs' : null },
          h('th', { scope: 'row' }, h('a', { href: `#/stock/${encodeURIComponent(p.product_id)}` }, p.product_id), differs ? ' (differs)' : null),
          count(p.on_hand, 'on_hand'), count(p.reserved, 'reserved'), count(p.on_hand - p.reserved, 'available'),
          count(p.held_by_orders, 'held_by_orders'), count(p.in_doubt, 'in_doubt'));
      }))
      : h('p', { class: 'empty' }, 'No order reserved stock yet.'));
}

export async function renderProduct(page, _query, shown) {
  const product = await api(`/api/v1/inventory/${encodeURIComponent(decodeURIComponent(shown))}`);
  page.append(
    h('h1', {}, `Stock of ${product.product_id}`),
    h('p', {}, h('a', { href: '#/stock' }, 'Every product')),
    h('dl', { class: 'facts' },
      ['on_hand', 'reserved', 'available'].map((k) =>
        h('div', {}, h('dt', {}, k.replace('_', ' ')), h('dd', { 'data-fact': k }, String(product[k]))))),
    h('section', { 'aria-labelledby': 'holders' },
      h('h2', { id: 'holders' }, 'Orders holding it'),
      product.holders.length
        ? table(['order', 'units'], product.holders.map((holder) =>
          h('tr', { 'data-holder': holder.order_id },
            h('th', { scope: 'row' }, h('a', { href: `#/orders/${holder.order_id}` }, holder.order_id)),
            h('td', { class: 'number' }, String(holder.units)))))
        : h('p', { class: 'empty' }, 'No live order holds any.')),
    adjustment(product));
}

/// A count, a delivery or a damaged unit: on hand moves by the delta, never under what is
/// reserved; the reason goes to the service's log.
function adjustment(product) {
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Adjust');
  const form = h('form', { class: 'adjustment', 'aria-labelledby': 'adjust' },
    h('h2', { id: 'adjust' }, 'Adjust on hand'),
    h('p', { class: 'hint' }, 'Units in (a delivery: positive) or out (damaged, a count: negative). On hand never goes under what orders reserve.'),
    field('delta', 'Units (+ or −)', { type: 'number', step: '1', required: true, inputmode: 'numeric' }),
    field('reason', 'Reason', { maxlength: 500, required: true }),
    generalProblem(),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblems(form);
    const delta = Number(form.elements.delta.value);
    const body = { delta: Number.isInteger(delta) ? delta : form.elements.delta.value, reason: form.elements.reason.value };
    submit.disabled = true;
    try {
      await api(`/api/v1/inventory/${encodeURIComponent(product.product_id)}/adjustments`, { method: 'POST', json: body });
    } catch (failure) {
      submit.disabled = false;
      showProblems(form, failure);
      return;
    }
    notify(`${product.product_id}: on hand adjusted by ${delta}.`, 'ok');
    refresh();
  });
  return form;
}
