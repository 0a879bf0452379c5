// The fee on the order options page follows the options at once (GET /api/v1/fee); the page's own button still recalculates without script.

const TYPING_DEBOUNCE_MS = 400; // the number of copies: wait until the citizen stops typing
const ANSWER_TIMEOUT_MS = 10000;

function cell(text, className) {
  const element = document.createElement('td');
  if (className) element.className = className;
  element.textContent = text;
  return element;
}

// The same rows as templates/orders/_macros.html fee_table draws.
function row(item) {
  const tr = document.createElement('tr');
  const quantity = cell(`${item.quantity} × `, 'amount');
  const unit = document.createElement('span');
  unit.className = 'money';
  unit.textContent = item.unit;
  quantity.append(unit);
  tr.append(cell(item.label), quantity, cell(item.amount, 'amount'));
  return tr;
}

export function start() {
  const form = document.querySelector('form[data-fee-url]');
  const box = document.getElementById('fee');
  const table = box && box.querySelector('table.fee');
  if (!form || !table) return; // no fee shown yet (the page lists errors): the button recalculates
  // The table changes cell by cell; only the one sentence below it is to be announced.
  box.removeAttribute('role');
  box.removeAttribute('aria-live');
  const live = document.createElement('p');
  live.id = 'fee-live';
  live.className = 'fee-live';
  live.setAttribute('role', 'status');
  live.setAttribute('aria-live', 'polite');
  table.after(live); // right under the sum it speaks of

  let timer = null;
  let sequence = 0;
  let controller = null;

  function say(message, warning) {
    live.classList.toggle('warning', warning);
    // the same sentence twice would not be announced again
    if (live.textContent === message) live.textContent = '';
    live.textContent = message;
  }

  async function update() {
    const mine = ++sequence;
    if (controller) controller.abort();
    controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), ANSWER_TIMEOUT_MS);
    const query = new URLSearchParams(new FormData(form));
    let body = null;
    let ok = false;
    try {
      const response = await fetch(`${form.dataset.feeUrl}?${query}`, {
        headers: { Accept: 'application/json' },
        signal: controller.signal,
      });
      ok = response.ok;
      body = await response.json();
    } catch {
      body = null;
    } finally {
      clearTimeout(timeout);
    }
    if (mine !== sequence) return;
    if (!ok || !body || !Array.isArray(body.items)) {
      // options the order would refuse: the old sum no longer holds, so it is struck through and the reason said;
      // without an answer at all the page's own button is still there
      if (body && body.detail) {
        table.classList.add('fee-stale');
        say(body.detail, true);
      }
      return;
    }
    table.tBodies[0].replaceChildren(...body.items.map(row));
    const total = table.tFoot && table.tFoot.querySelector('td.amount');
    if (total) total.textContent = body.total;
    table.classList.remove('fee-stale');
    say(body.announcement, false);
  }

  // Changing an option changes only the fee on this page, never the page itself (WCAG 3.2.2).
  form.addEventListener('change', () => {
    clearTimeout(timer);
    update();
  });
  form.addEventListener('input', (event) => {
    if (event.target.type !== 'number') return;
    clearTimeout(timer);
    timer = setTimeout(update, TYPING_DEBOUNCE_MS);
  });
  // This module loads after the page: a choice made before it listened would otherwise go unseen.
  if (changedSinceRendered(form)) update();
}

// Whether any field differs from what the server rendered (the elements' default values).
function changedSinceRendered(form) {
  return [...form.elements].some((element) => {
    if (element.type === 'checkbox' || element.type === 'radio') return element.checked !== element.defaultChecked;
    if (element.tagName === 'SELECT') return [...element.options].some((o) => o.selected !== o.defaultSelected);
    return 'defaultValue' in element && element.value !== element.defaultValue;
  });
}
