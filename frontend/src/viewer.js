// The preview viewer: the page at true size in a scrollable pane; zoom by buttons, keys, ctrl+wheel or two fingers,
// move by buttons, arrow keys or scrolling (WCAG 2.5.7: nothing needs dragging). Sharper images are fetched when zoomed in.

const CSS_DPI = 96; // a CSS pixel is 1/96 inch: an image drawn at 96 dpi shows at true size at zoom 1
const STEP = 1.25;
const MAX_ZOOM = 4;
const PAN_FRACTION = 0.4;

function withDpi(src, dpi) {
  const url = new URL(src, window.location.href);
  url.searchParams.set('dpi', String(dpi));
  return url.pathname + url.search;
}

export class Viewer {
  constructor(root) {
    this.root = root;
    this.pane = root.querySelector('.viewer-pane');
    this.image = root.querySelector('img');
    this.level = root.querySelector('#viewer-level');
    this.baseDpi = Number(root.dataset.dpi) || CSS_DPI;
    this.maxDpi = Number(root.dataset.maxDpi) || CSS_DPI;
    this.size = [Number(root.dataset.width), Number(root.dataset.height)];
    this.baseSrc = this.image.getAttribute('src');
    this.zoom = null; // null until measured: "whole page"
    this.request = 0;
    // The viewer picks the image's resolution itself from now on.
    this.image.removeAttribute('srcset');
    root.querySelector('.viewer-toolbar').hidden = false;
    this.bind();
    this.fit();
  }

  // The page's width in CSS pixels at true size.
  trueWidth() {
    return (this.size[0] * CSS_DPI) / this.baseDpi;
  }

  fitZoom() {
    const available = this.pane.clientWidth - 2;
    const height = this.pane.clientHeight - 2;
    const byWidth = available / this.trueWidth();
    const byHeight = height / ((this.size[1] * CSS_DPI) / this.baseDpi);
    return Math.max(0.05, Math.min(byWidth, byHeight));
  }

  bind() {
    this.root.addEventListener('click', (event) => {
      const button = event.target.closest('button');
      if (!button) return;
      if (button.dataset.zoom === 'in') this.zoomBy(STEP);
      else if (button.dataset.zoom === 'out') this.zoomBy(1 / STEP);
      else if (button.dataset.zoom === 'fit') this.fit();
      else if (button.dataset.zoom === 'real') this.setZoom(1);
      else if (button.dataset.zoom === 'fullscreen') this.toggleFullscreen();
      else if (button.dataset.pan) this.pan(button.dataset.pan);
    });
    this.pane.addEventListener('keydown', (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const keys = { '+': () => this.zoomBy(STEP), '=': () => this.zoomBy(STEP), '-': () => this.zoomBy(1 / STEP),
        0: () => this.fit(), 1: () => this.setZoom(1) };
      const action = keys[event.key];
      if (action) {
        event.preventDefault();
        action();
      }
      // Arrow keys scroll the focused pane natively.
    });
    this.pane.addEventListener('wheel', (event) => {
      if (!event.ctrlKey) return; // plain wheel scrolls; ctrl+wheel (and trackpad pinch) zooms
      event.preventDefault();
      this.zoomBy(Math.exp(-event.deltaY / 300), this.pointIn(event));
    }, { passive: false });
    this.bindPinch();
    const fullscreen = this.root.querySelector('[data-zoom="fullscreen"]');
    if (fullscreen && document.fullscreenEnabled && this.root.requestFullscreen) fullscreen.hidden = false;
    document.addEventListener('fullscreenchange', () => this.fit());
    new ResizeObserver(() => {
      if (this.fitted) this.fit();
    }).observe(this.pane);
  }

  // Two fingers zoom around their midpoint; one finger scrolls natively (touch-action: pan-x pan-y).
  bindPinch() {
    let start = null;
    const distance = (touches) => Math.hypot(touches[0].clientX - touches[1].clientX, touches[0].clientY - touches[1].clientY);
    this.pane.addEventListener('touchstart', (event) => {
      if (event.touches.length === 2) start = { distance: distance(event.touches), zoom: this.zoom };
    }, { passive: true });
    this.pane.addEventListener('touchmove', (event) => {
      if (!start || event.touches.length !== 2) return;
      event.preventDefault();
      const middle = {
        clientX: (event.touches[0].clientX + event.touches[1].clientX) / 2,
        clientY: (event.touches[0].clientY + event.touches[1].clientY) / 2,
      };
      this.setZoom((start.zoom * distance(event.touches)) / start.distance, this.pointIn(middle));
    }, { passive: false });
    this.pane.addEventListener('touchend', (event) => {
      if (event.touches.length < 2) start = null;
    });
  }

  pointIn(event) {
    const box = this.pane.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  fit() {
    this.setZoom(this.fitZoom());
    this.fitted = true;
  }

  zoomBy(factor, point) {
    this.setZoom((this.zoom || this.fitZoom()) * factor, point);
  }

  // Zoom so that the page point under `point` (pane pixels; default the pane's centre) stays where it is.
  setZoom(wanted, point) {
    const zoom = Math.min(MAX_ZOOM, Math.max(Math.min(this.fitZoom(), 1) / 2, wanted));
    const [px, py] = point || [this.pane.clientWidth / 2, this.pane.clientHeight / 2];
    const old = this.zoom || zoom;
    const x = (this.pane.scrollLeft + px) / old;
    const y = (this.pane.scrollTop + py) / old;
    this.zoom = zoom;
    this.fitted = false;
    this.image.style.width = `${Math.round(this.trueWidth() * zoom)}px`;
    this.image.style.height = 'auto';
    this.pane.scrollLeft = x * zoom - px;
    this.pane.scrollTop = y * zoom - py;
    this.level.textContent = `${Math.round(zoom * 100)}\u00a0%`;
    this.sharpen();
  }

  pan(direction) {
    const dx = this.pane.clientWidth * PAN_FRACTION;
    const dy = this.pane.clientHeight * PAN_FRACTION;
    const by = { left: [-dx, 0], right: [dx, 0], up: [0, -dy], down: [0, dy] }[direction];
    if (by) this.pane.scrollBy({ left: by[0], top: by[1] });
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen();
    else this.root.requestFullscreen().catch(() => {});
  }

  // The resolution the screen can show at this zoom, in steps of the base dpi, within what the server offers.
  wantedDpi() {
    const needed = this.zoom * (window.devicePixelRatio || 1) * CSS_DPI;
    let dpi = this.baseDpi;
    while (dpi < needed * 0.8 && dpi + this.baseDpi <= this.maxDpi) dpi += this.baseDpi;
    return dpi;
  }

  sharpen() {
    if (!this.baseSrc) return; // nothing chosen yet (the search page before a parcel is picked)
    const src = withDpi(this.baseSrc, this.wantedDpi());
    if (this.image.getAttribute('src') !== src) this.image.src = src;
  }

  // The address the viewer will load for a page's image at the present zoom.
  sourceFor(src) {
    return withDpi(src, this.wantedDpi());
  }

  // A new page (the picker moved the print area or changed the paper): resolves when it is shown.
  show({ src, width, height, alt }) {
    const mine = ++this.request;
    const changedSize = width !== this.size[0] || height !== this.size[1];
    this.baseSrc = src;
    this.size = [width, height];
    this.image.width = width;
    this.image.height = height;
    this.image.alt = alt;
    if (changedSize || this.fitted || this.zoom === null) this.fit();
    const target = this.sourceFor(src);
    return new Promise((resolve, reject) => {
      if (this.image.getAttribute('src') === target && this.image.complete) {
        resolve();
        return;
      }
      this.image.onload = () => (mine === this.request ? resolve() : undefined);
      this.image.onerror = () => (mine === this.request ? reject(new Error('preview failed')) : undefined);
      this.image.src = target;
    });
  }
}

export function startViewers() {
  for (const root of document.querySelectorAll('.viewer')) {
    if (!root.gisViewer) root.gisViewer = new Viewer(root);
  }
}
