// After each step in the iframe the focus goes to the page's heading or error summary, and the host learns where it is to scroll there.
import { isFramed, postToHost } from './messaging.js';

// Late layout changes (images, the map) may still move the target; the host hears of them this long.
const SETTLE_MS = 2000;
const HEADING_NEAR_PX = 120;

let stepped = null; // this page's target, once it has been a step

// What the citizen should read first: an error summary or refusal if the page has one, else the main heading.
// #map-error is the map's live region for errors while working on the page, not a summary of this step.
export function stepTarget() {
  for (const element of document.querySelectorAll('main .error-summary, main [role="alert"]:not(#map-error)')) {
    if (element.textContent.trim() && element.getClientRects().length) return element;
  }
  return document.querySelector('main h1');
}

// The previous page in this frame was one of ours: the citizen pressed something in the frame.
// The first page's referrer is the host page, which has another origin, or is the parent itself
// when the host page lives on our origin (the demo host page on the picker's own server).
function cameFromOurPage() {
  let referrer;
  try {
    referrer = new URL(document.referrer);
  } catch {
    return false;
  }
  if (referrer.origin !== window.location.origin) return false;
  try {
    const parent = new URL(window.parent.location.href);
    parent.hash = '';
    if (parent.href === referrer.href) return false;
  } catch {
    // a parent on another origin cannot be the referrer: the referrer's origin is ours
  }
  return true;
}

// Back from the payment (in the whole window) the host frames our status page again and is its
// referrer; web/orders.py marks that way back with from=payment. Storage cannot carry it: browsers
// block it in frames of another site.
function backFromPayment() {
  return new URLSearchParams(window.location.search).get('from') === 'payment';
}

function focusOn(element, { preventScroll }) {
  if (element.tabIndex < 0 && !element.hasAttribute('tabindex')) element.setAttribute('tabindex', '-1');
  element.focus({ preventScroll });
}

// Where the host should look: the target, and the page's heading with it when it stands just above
// (an error summary read without the step's name leaves the citizen asking where they are).
function place(target) {
  const box = target.getBoundingClientRect();
  let top = box.top;
  const heading = document.querySelector('main h1');
  if (heading && heading !== target) {
    const above = heading.getBoundingClientRect();
    if (above.top <= box.top && box.top - above.bottom < HEADING_NEAR_PX) top = above.top;
  }
  return { top: Math.round(top + window.scrollY), height: Math.round(box.bottom - top) };
}

// In the frame, only after a step: the first page inside the host form takes nothing from the host's
// own fields, which come first. On a page of its own the browser starts at the top anyway; only an
// error summary takes the focus there, as it does in the frame.
export function startStep() {
  const target = stepTarget();
  if (!target) return;
  if (!isFramed()) {
    if (!target.matches('h1')) focusOn(target, { preventScroll: false });
    return;
  }
  const returned = backFromPayment();
  if (!(returned || cameFromOurPage())) return;
  stepped = target;
  // the host scrolls: it knows its sticky header and the citizen's motion preference
  focusOn(target, { preventScroll: true });
  // Back from the payment the citizen has not touched this frame yet, and a frame of another site
  // cannot hold the focus then: when the host hands the focus to the frame, it lands on the body.
  // The target takes it from there, once that focus change has settled.
  if (returned) {
    window.addEventListener('focus', () => setTimeout(() => {
      if (document.activeElement === document.body) focusOn(target, { preventScroll: true });
    }), { once: true });
  }
  let last = place(target);
  postToHost({ type: 'gis-service:scroll', ...last });
  const observer = new ResizeObserver(() => {
    const now = place(target);
    if (now.top !== last.top) {
      last = now;
      postToHost({ type: 'gis-service:scroll', ...now });
    }
  });
  observer.observe(document.body);
  setTimeout(() => observer.disconnect(), SETTLE_MS);
}

// A host that started listening late asks again (gis-service:request-state): where this step's target is.
export function repeatStep() {
  if (stepped) postToHost({ type: 'gis-service:scroll', ...place(stepped) });
}
