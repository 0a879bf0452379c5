// The demo host page: frames the picker, takes messages only from the picker's own frame and origin, shows what arrived.

const frame = document.getElementById('picker-frame');
const pickerOrigin = frame.dataset.pickerOrigin;
const texts = JSON.parse(document.getElementById('demo-texts').textContent);
const log = document.getElementById('demo-log');
const status = document.getElementById('demo-status');
const previewLink = document.getElementById('f-preview');
const REDUCED_MOTION = window.matchMedia('(prefers-reduced-motion: reduce)');
const SCROLL_MARGIN_PX = 16; // this page has no sticky header; a form with one adds its height
// The form keeps what it took over while the citizen pays in the whole window (a real form keeps it on its server).
const KEPT_KEY = 'demo-formular:received';
const resumed = new URLSearchParams(window.location.search).has('gis_service_page');
// Back from the payment the citizen has not touched the frame on this page, so the picker cannot take
// the focus into it (browsers refuse that to frames of another site): the form hands it over once.
let handFocusOver = resumed;
let resizeEntry = null;

function logEntry(text, entry = null) {
  const item = entry || document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString(document.documentElement.lang)} ${text}`;
  if (!entry) log.append(item);
  return item;
}

function setField(id, value) {
  document.getElementById(id).value = value === undefined || value === null ? '' : String(value);
}

function keep(message) {
  try {
    const kept = JSON.parse(window.sessionStorage.getItem(KEPT_KEY) || '{}');
    kept[message.type] = message;
    window.sessionStorage.setItem(KEPT_KEY, JSON.stringify(kept));
  } catch {
    // storage blocked: the fields are then empty after the payment, as before
  }
}

function received(message, restored = false) {
  if (typeof message.key !== 'string' || !/^[0-9A-Z_]{20}$/.test(message.key)) return;
  keep(message);
  setField('f-key', message.key);
  setField('f-label', message.label);
  setField('f-scale', `1:${Number(message.scale)}`);
  setField('f-paper', message.paper);
  setField('f-orientation', texts[message.orientation] || message.orientation);
  setField('f-center', Array.isArray(message.center) ? message.center.map((v) => Number(v).toFixed(2)).join(', ') : '');
  // only a link into the picker's own origin becomes clickable
  try {
    const url = new URL(message.preview_url);
    if (url.origin === pickerOrigin) {
      previewLink.href = url.href;
      previewLink.hidden = false;
    }
  } catch {
    previewLink.hidden = true;
  }
  status.textContent = texts.received.replace('{label}', String(message.label));
  if (!restored) logEntry(`gis-service:parcel-selected ${message.key}`);
}

// The order in the iframe: its number, state and status page (a link only into the picker's origin).
function orderSubmitted(message, restored = false) {
  if (typeof message.order_number !== 'string' || !/^[A-Z]{1,4}-\d{4}-[0-9A-Z]{4,12}$/.test(message.order_number)) return;
  keep(message);
  setField('f-order-number', message.order_number);
  // the state in words; the code stays in the log
  const known = Object.prototype.hasOwnProperty.call(texts.statuses, message.status);
  setField('f-order-status', known ? texts.statuses[message.status] : message.status);
  const link = document.getElementById('f-status-link');
  try {
    const url = new URL(message.status_url);
    link.hidden = url.origin !== pickerOrigin;
    if (!link.hidden) link.href = url.href;
  } catch {
    link.hidden = true;
  }
  status.textContent = texts.order.replace('{number}', message.order_number);
  if (!restored) logEntry(`gis-service:order-submitted ${message.order_number} ${String(message.status)}`);
}

// The picker moved focus to the heading (or error summary) of its new step: bring it into view.
function scrollToStep(message) {
  const top = Number(message.top);
  const height = Number(message.height);
  if (!Number.isFinite(top) || !Number.isFinite(height) || top < 0 || top > 50000 || height < 0) return;
  const start = frame.getBoundingClientRect().top + frame.clientTop + top;
  const end = start + Math.min(height, window.innerHeight / 2);
  if (handFocusOver) {
    handFocusOver = false;
    frame.focus({ preventScroll: true });
  }
  if (start >= SCROLL_MARGIN_PX && end <= window.innerHeight - SCROLL_MARGIN_PX) return; // in view already
  window.scrollTo({ top: window.scrollY + start - SCROLL_MARGIN_PX, behavior: REDUCED_MOTION.matches ? 'auto' : 'smooth' });
}

// Back from the payment: what the form had taken over before, checked again as when it arrived.
function restore() {
  if (!resumed) return;
  let kept = {};
  try {
    kept = JSON.parse(window.sessionStorage.getItem(KEPT_KEY) || '{}');
  } catch {
    return;
  }
  if (kept['gis-service:parcel-selected']) received(kept['gis-service:parcel-selected'], true);
  if (kept['gis-service:order-submitted']) orderSubmitted(kept['gis-service:order-submitted'], true);
}

restore();

window.addEventListener('message', (event) => {
  if (event.origin !== pickerOrigin || event.source !== frame.contentWindow) {
    logEntry(texts.ignored.replace('{origin}', event.origin || 'null'));
    return;
  }
  const message = event.data;
  if (!message || typeof message !== 'object' || typeof message.type !== 'string') return;
  if (message.type === 'gis-service:resize') {
    const height = Number(message.height);
    if (Number.isFinite(height) && height > 0 && height < 50000) {
      const borders = frame.offsetHeight - frame.clientHeight; // the frame is border-box sized
      frame.style.height = `${Math.ceil(height) + borders}px`;
    }
    // one line for all resizes: they come often
    resizeEntry = logEntry(`gis-service:resize ${Math.ceil(height)} px`, resizeEntry);
  } else if (message.type === 'gis-service:scroll') {
    scrollToStep(message);
  } else if (message.type === 'gis-service:parcel-selected') {
    received(message);
  } else if (message.type === 'gis-service:order-submitted') {
    orderSubmitted(message);
  } else if (message.type === 'gis-service:request-return-url') {
    // after paying in the whole window the citizen comes back to this form (without the page we resumed)
    const url = new URL(window.location.href);
    url.searchParams.delete('gis_service_page');
    frame.contentWindow.postMessage({ type: 'gis-service:return-url', url: url.href }, pickerOrigin);
  }
});

// This script runs after the page is parsed: the picker's page may have spoken before anyone listened.
try {
  frame.contentWindow.postMessage({ type: 'gis-service:request-state' }, pickerOrigin);
} catch {
  // the frame is not there yet: its page will speak once it has loaded
}
