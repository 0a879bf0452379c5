// postMessage with the host page: only to and from the origins on the configured allow-list (and our own).

const PREFIX = 'gis-service:';
const PARENT_ORIGIN_KEY = 'gis-service:parent-origin';

export function isFramed() {
  return window.parent !== window;
}

export function allowedOrigins() {
  const meta = document.querySelector('meta[name="gis-service-allowed-origins"]');
  const listed = (meta ? meta.content : '').split(/\s+/).filter(Boolean);
  return new Set([window.location.origin, ...listed]);
}

// The host's origin: Chromium and Safari tell it; elsewhere the first page's referrer is the host,
// later pages in the iframe only have their predecessor as referrer, so it is kept for the session.
function parentOrigin() {
  if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) {
    return window.location.ancestorOrigins[0];
  }
  let remembered = null;
  try {
    remembered = window.sessionStorage.getItem(PARENT_ORIGIN_KEY);
  } catch {
    // storage may be blocked in third-party iframes
  }
  if (document.referrer) {
    const origin = new URL(document.referrer).origin;
    if (origin !== window.location.origin || !remembered) {
      try {
        window.sessionStorage.setItem(PARENT_ORIGIN_KEY, origin);
      } catch {
        // ignore: we then fall back to the allow-list
      }
      return origin;
    }
  }
  return remembered;
}

export function postToHost(message) {
  if (!isFramed()) return;
  const allowed = allowedOrigins();
  const origin = parentOrigin();
  if (origin) {
    if (allowed.has(origin)) window.parent.postMessage(message, origin);
    return;
  }
  // Unknown host: the browser delivers only to the one whose origin matches.
  for (const candidate of allowed) window.parent.postMessage(message, candidate);
}

export function onHostMessage(handler) {
  const allowed = allowedOrigins();
  window.addEventListener('message', (event) => {
    if (!isFramed() || event.source !== window.parent || !allowed.has(event.origin)) return;
    const data = event.data;
    if (!data || typeof data !== 'object' || typeof data.type !== 'string' || !data.type.startsWith(PREFIX)) return;
    handler(data);
  });
}
