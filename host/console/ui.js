// Small DOM helpers shared by the pages: elements, money, dates and addresses for display,
// notices, confirmations, and a refusal's problems put next to the fields they name.

/// An element: `h('a', {href: '#/x', class: 'y'}, 'text', child)`. Attributes starting
/// with `on` are listeners; `data` is an object of data attributes.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'data') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const fractionDigits = {};

/// How many digits a currency's minor unit has (2 for USD, 0 for JPY).
export function digits(currency) {
  return (fractionDigits[currency] ??= new Intl.NumberFormat('en', { style: 'currency', currency })
    .resolvedOptions().maximumFractionDigits);
}

/// `{minor, currency}` for display; the amount stays integer minor units until this last
/// step, and is split as a string, never divided as a float.
export function money(m) {
  if (!m) return '—';
  const places = digits(m.currency);
  const sign = m.minor < 0 ? '-' : '';
  const text = String(Math.abs(m.minor)).padStart(places + 1, '0');
  const whole = places ? text.slice(0, -places) : text;
  const fraction = places ? '.' + text.slice(-places) : '';
  const grouped = Number(whole).toLocaleString('en');
  return `${sign}${grouped}${fraction} ${m.currency}`;
}

/// An instant for display, in UTC as every day and hour of the console is (the API's days
/// are UTC days): `2026-12-07 14:05:09 UTC`.
export function when(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  return Number.isNaN(t.getTime()) ? String(iso) : `${t.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/// An address for display, a line each: name, street, city with state and postal code,
/// country.
export function addressLines(address) {
  return [
    address.full_name, address.address_line_1, address.address_line_2,
    [address.city, [address.state, address.postal_code].filter(Boolean).join(' ')].filter(Boolean).join(', '),
    address.country,
  ].filter(Boolean);
}

/// The first 12 hex digits of a `sha256:` digest, the whole one in its title.
export function short(digest) {
  return digest ? h('code', { title: digest }, digest.replace('sha256:', '').slice(0, 12)) : '—';
}

/// A table of `rows` (`tr` elements) under `headings`, in a box that scrolls sideways
/// ([`scrolling`]). Each cell is labelled with its column's heading (`data-label`), which a
/// table laid out as cards on a phone shows (the `cards` class).
export function table(headings, rows, attrs = {}) {
  for (const row of rows.flat().filter(Boolean)) {
    [...row.children].forEach((cell, i) => {
      if (cell.tagName === 'TD' && !cell.dataset.label && headings[i]) cell.dataset.label = headings[i];
    });
  }
  return scrolling(h('table', attrs,
    h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows)));
}

/// `content` in a box that scrolls sideways when it is wider than the page. While it does,
/// the box takes the focus (so that the keyboard scrolls it), is a region named after the
/// section it is in, and a hint above it says so; none of that while the content fits.
export function scrolling(content) {
  const scroller = h('div', { class: 'scroll' }, content);
  const hint = h('p', { class: 'scroll-hint', hidden: true }, 'Scroll sideways for more →');
  // Measured in the next frame: showing the hint changes sizes that the observer would
  // otherwise report within its own notification.
  new ResizeObserver(() => requestAnimationFrame(() => overflows(scroller, hint))).observe(scroller);
  return h('div', { class: 'scrolling' }, hint, scroller);
}

function overflows(scroller, hint) {
  if (!scroller.isConnected) return;
  const wide = scroller.scrollWidth > scroller.clientWidth + 1;
  hint.hidden = !wide;
  scroller.dataset.overflows = String(wide);
  if (!wide) {
    for (const name of ['tabindex', 'role', 'aria-label']) scroller.removeAttribute(name);
    return;
  }
  // Named by the headings of the sections it is in, and a table by its first columns:
  // several such regions on a page are told apart.
  const headings = [];
  for (let el = scroller.parentElement; el && el !== document.body; el = el.parentElement) {
    if (!el.matches('section, figure, form, .page')) continue;
    const heading = el.querySelector(':scope > h1, :scope > h2, :scope > h3, :scope > figcaption');
    if (heading) headings.unshift(heading.textContent);
  }
  const columns = [...scroller.querySelectorAll(':scope > table > thead th')].map((th) => th.textContent).filter(Boolean);
  const what = columns.length ? `table of ${columns.slice(0, 3).join(', ')}${columns.length > 3 ? '…' : ''}` : 'drawing';
  scroller.setAttribute('tabindex', '0');
  scroller.setAttribute('role', 'region');
  scroller.setAttribute('aria-label', `${[...headings, what].join(': ')}, scrolls sideways`);
}

/// Shows a failure to the person, in the notice area that screen readers announce.
export function notify(message, kind = 'error') {
  const notices = document.getElementById('notices');
  const close = h('button', { type: 'button', class: 'link', title: 'Dismiss' }, h('span', { 'aria-hidden': 'true' }, '×'), h('span', { class: 'sr-only' }, 'Dismiss'));
  const note = h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', {}, message), close);
  close.addEventListener('click', () => note.remove());
  notices.append(note);
  // The newest few only: a run of actions must not bury the page.
  while (notices.children.length > 3) notices.firstChild.remove();
  if (kind !== 'error') setTimeout(() => note.remove(), 5000);
}

/// Runs `action`, showing its failure (the API's message) rather than letting it vanish.
export async function attempt(action, what) {
  try {
    return await action();
  } catch (e) {
    notify(`${what}: ${e.message}`);
    return undefined;
  }
}

/// A modal question; resolves true when the person confirms. Escape or Cancel is false.
export function confirmed(title, text, action = 'Confirm') {
  return new Promise((resolve) => {
    const yes = h('button', { type: 'submit', class: 'primary', value: 'yes' }, action);
    const no = h('button', { type: 'submit', value: 'no' }, 'Cancel');
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dialog-title' }, title),
        h('p', {}, text),
        h('div', { class: 'actions' }, no, yes)));
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'yes');
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
    no.focus();
  });
}

/// Puts a refusal's problems next to the fields of `form` they name (by `name`); the rest,
/// and the message when no problem names a field here, above the form's buttons.
export function showProblems(form, failure) {
  clearProblems(form);
  const problems = failure.problems && failure.problems.length
    ? failure.problems
    : [{ message: failure.message, field: failure.field }];
  const general = form.querySelector('.problem[data-for=""]');
  for (const p of problems) {
    const slot = (p.field && form.querySelector(`.problem[data-for="${CSS.escape(p.field)}"]`)) || general;
    slot.textContent = slot.textContent ? `${slot.textContent}; ${p.message}` : p.message;
    const input = form.querySelector(`[name="${CSS.escape(p.field || '')}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
  }
  (form.querySelector('[aria-invalid="true"]') || general).focus?.();
}

export function clearProblems(form) {
  for (const slot of form.querySelectorAll('.problem')) slot.textContent = '';
  for (const input of form.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
}

/// A labelled input with its problem slot: `field('tracking_number', 'Tracking number')`.
/// `options` (`[[value, text]]`) makes it a select; `suggestions` (values) a text input
/// that offers them.
export function field(name, label, { options, suggestions, ...attrs } = {}) {
  const id = `field-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const described = { 'aria-describedby': [attrs['aria-describedby'], `${id}-problem`].filter(Boolean).join(' ') };
  const control = options
    ? h('select', { id, name, ...described }, options.map(([value, text]) => h('option', { value }, text)))
    : h('input', { id, name, type: 'text', list: suggestions ? `${id}-list` : null, ...attrs, ...described });
  return h('div', { class: 'field' },
    h('label', { for: id }, label), control,
    suggestions ? h('datalist', { id: `${id}-list` }, suggestions.map((value) => h('option', { value }))) : null,
    h('span', { class: 'problem', id: `${id}-problem`, 'data-for': name, 'aria-live': 'polite' }));
}

/// The slot for problems that name no field of the form.
export function generalProblem() {
  return h('p', { class: 'problem', 'data-for': '', tabindex: '-1' });
}
