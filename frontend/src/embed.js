// Runs on every page shown in the iframe: reports the page height to the host, hands a selection over, starts the map picker, marks the step.
import { allowedOrigins, isFramed, onHostMessage, postToHost } from './messaging.js';
import { repeatStep, startStep } from './steps.js';
import { startViewers } from './viewer.js';

let lastHeight = 0;

function pageHeight() {
  return Math.ceil(document.body.getBoundingClientRect().height);
}

function reportHeight(force = false) {
  const height = pageHeight();
  if (force || height !== lastHeight) {
    lastHeight = height;
    postToHost({ type: 'gis-service:resize', height });
  }
}

function handOverSelection() {
  const element = document.getElementById('selection');
  if (!element) return;
  const selection = JSON.parse(element.textContent);
  postToHost({
    type: 'gis-service:parcel-selected',
    key: selection.key,
    label: selection.label,
    scale: selection.scale,
    paper: selection.paper,
    orientation: selection.orientation,
    center: selection.center,
    preview_url: selection.preview_url,
  });
}

// Other pages (the order confirmation) name their message for the host in a JSON element.
function handOverMessages() {
  for (const element of document.querySelectorAll('script[type="application/json"][data-gis-handover]')) {
    const message = JSON.parse(element.textContent);
    if (message && typeof message.type === 'string' && message.type.startsWith('gis-service:')) postToHost(message);
  }
}

// Payment opens in the whole window (providers refuse to be framed). The host page names the page the
// citizen comes back to (gis-service:return-url, allowed origins only); the server checks it again.
function addReturnUrl(given) {
  let url;
  try {
    url = new URL(given);
  } catch {
    return;
  }
  if (!['https:', 'http:'].includes(url.protocol) || !allowedOrigins().has(url.origin)) return;
  for (const form of document.querySelectorAll('form[data-gis-return]')) {
    let input = form.querySelector('input[name="return_to"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = 'return_to';
      form.append(input);
    }
    input.value = url.href;
  }
}

function start() {
  if (isFramed()) {
    new ResizeObserver(() => reportHeight()).observe(document.body);
    window.addEventListener('load', () => reportHeight());
    reportHeight(true);
    onHostMessage((message) => {
      if (message.type === 'gis-service:request-height') reportHeight(true);
      // a host whose script started after this page had spoken asks again for what it hands over
      if (message.type === 'gis-service:request-state') {
        reportHeight(true);
        handOverSelection();
        handOverMessages();
        repeatStep();
      }
      if (message.type === 'gis-service:select-parcel' && typeof message.key === 'string') {
        document.dispatchEvent(new CustomEvent('gis-service:select-parcel', { detail: { key: message.key } }));
      }
      if (message.type === 'gis-service:return-url' && typeof message.url === 'string') addReturnUrl(message.url);
    });
    if (document.querySelector('form[data-gis-return]')) postToHost({ type: 'gis-service:request-return-url' });
  }
  handOverSelection();
  handOverMessages();
  startViewers();
  let ready = Promise.resolve();
  if (document.getElementById('picker')) {
    ready = import('./picker.js').then((picker) => picker.start()).catch((error) => {
      // The page without the map still works: the server-rendered flow is complete.
      console.error('map picker failed to start', error);
    });
  }
  if (document.querySelector('[data-fee-url]')) {
    import('./fee.js').then((fee) => fee.start()).catch((error) => console.error('fee updates failed to start', error));
  }
  // The map shows itself above the panel: where a refusal under it sits is known only then, and the host
  // must have the page's new height before it can scroll that far.
  ready.then(() => {
    if (isFramed()) reportHeight();
    startStep();
  });
}

if (document.readyState === 'loading') {
  document.addEventListener('DOMContentLoaded', start);
} else {
  start();
}
