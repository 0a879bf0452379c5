// The map picker: OpenLayers in EPSG:25832 over the service's tiles (or /api/v1/map.png), parcel choice by click, search or keyboard, a movable print frame, a live preview.
import Collection from 'ol/Collection.js';
import Feature from 'ol/Feature.js';
import Map from 'ol/Map.js';
import View from 'ol/View.js';
import { Zoom } from 'ol/control.js';
import { buffer, containsExtent, extend, getCenter, getHeight, getWidth } from 'ol/extent.js';
import GeoJSON from 'ol/format/GeoJSON.js';
import Point from 'ol/geom/Point.js';
import { fromExtent } from 'ol/geom/Polygon.js';
import { decode } from 'ol/Image.js';
import { MouseWheelZoom, Translate, defaults as defaultInteractions } from 'ol/interaction.js';
import ImageLayer from 'ol/layer/Image.js';
import TileLayer from 'ol/layer/Tile.js';
import VectorLayer from 'ol/layer/Vector.js';
import { register } from 'ol/proj/proj4.js';
import ImageSource, { getRequestExtent } from 'ol/source/Image.js';
import VectorSource from 'ol/source/Vector.js';
import XYZ from 'ol/source/XYZ.js';
import { Circle as CircleStyle, Fill, RegularShape, Stroke, Style } from 'ol/style.js';
import TileGrid from 'ol/tilegrid/TileGrid.js';
import proj4 from 'proj4';

import { setupCombobox } from './combobox.js';

const CRS = 'EPSG:25832';
proj4.defs(CRS, '+proj=utm +zone=32 +ellps=GRS80 +towgs84=0,0,0,0,0,0,0 +units=m +no_defs +type=crs');
register(proj4);

const MAX_IMAGE_PX = 4096; // the server's limit for /api/v1/map.png
const PREVIEW_DEBOUNCE_MS = 350; // drags and held keys: one preview when the frame rests, not one per step
const FINEST_ZOOM_STEPS = 2; // below the finest tile level the map may zoom twice more, its tiles enlarged
const FRAME_STEP_MM = 10; // one arrow press moves the print area 10 mm on paper
const PAN_FRACTION = 0.2;
const CENTRE_MARGIN_M = 900; // the server refuses centres more than 1 km off its data
// The first view: at 1 m per CSS pixel street names and most parcel numbers can be read (a neighbourhood,
// about 400 m across on a phone); the whole of a Gemarkung at once is a mass of lines nobody can read.
const START_RESOLUTION = 1;
const REDUCED_MOTION = window.matchMedia('(prefers-reduced-motion: reduce)').matches;

// the parcel in the preview's highlight colour (renderers/style.py), the frame in the page's accent
const COLOURS = { frame: '#00549f', warning: '#a4141b', halo: '#ffffff', parcel: '#d55e00' };

function byId(id) {
  return document.getElementById(id);
}

export function start() {
  const cfg = JSON.parse(byId('picker-config').textContent);
  const picker = new Picker(cfg);
  picker.init();
  return picker;
}

class Picker {
  constructor(cfg) {
    this.cfg = cfg;
    this.lang = cfg.lang;
    this.state = {
      parcel: null, // GeoJSON properties of the chosen parcel
      scale: cfg.defaults.scale,
      paper: cfg.defaults.paper,
      orientation: cfg.defaults.orientation,
      center: null, // null: the server centres the page on the parcel
    };
    this.plan = null;
    this.refreshTimer = null;
    this.refreshSequence = 0;
    this.parcelSequence = 0;
    this.numberFormat = new Intl.NumberFormat(this.lang === 'en' ? 'en-GB' : 'de-DE', { maximumFractionDigits: 1 });
    this.elements = {
      section: byId('picker'),
      map: byId('map'),
      status: byId('map-status'),
      error: byId('map-error'),
      frameControls: byId('frame-controls'),
      panel: byId('panel'),
      facts: byId('parcel-facts'),
      options: byId('options-form'),
      fits: byId('fits'),
      figure: byId('preview-figure'),
      image: byId('preview-img'),
      pdf: byId('pdf-link'),
      pdfDownload: byId('pdf-download'),
      select: byId('select-form'),
    };
  }

  t(key, values = {}) {
    return (this.cfg.texts[key] || key).replace(/\{(\w+)\}/g, (_, name) => (name in values ? values[name] : ''));
  }

  // --- setting up -------------------------------------------------------------------------

  init() {
    const { section, options } = this.elements;
    section.hidden = false;
    document.querySelectorAll('[data-without-script]').forEach((element) => {
      element.hidden = true;
    });
    this.readOptions();
    this.createMap();
    this.bindKeyboard();
    this.bindFrameButtons();

    options.addEventListener('change', () => {
      this.readOptions();
      this.scheduleRefresh(0);
    });
    options.addEventListener('submit', (event) => {
      event.preventDefault();
      this.readOptions();
      this.scheduleRefresh(0);
    });

    const input = byId('q');
    const listbox = byId('suggestions');
    if (input && listbox) {
      setupCombobox({
        input,
        listbox,
        status: byId('suggestions-status'),
        url: this.cfg.urls.parcels,
        lang: this.lang,
        texts: this.cfg.texts,
        onChoose: (feature) => this.chooseParcel(feature, { fit: true }),
      });
    }

    document.addEventListener('gis-service:select-parcel', (event) => this.chooseByKey(event.detail.key, null));

    const initial = this.cfg.initial;
    if (initial && initial.parcel) this.chooseByKey(initial.parcel, initial.center);
  }

  createMap() {
    const cfg = this.cfg;
    const dataExtent = cfg.extent;
    const base = cfg.tiles ? this.tileLayer(cfg.tiles) : this.imageLayer();

    this.parcelFeature = new Feature();
    this.frameFeature = new Feature();
    this.handleFeature = new Feature();
    this.parcelFeature.setStyle([
      new Style({ stroke: new Stroke({ color: COLOURS.halo, width: 6 }) }),
      new Style({
        fill: new Fill({ color: 'rgba(213, 94, 0, 0.18)' }),
        stroke: new Stroke({ color: COLOURS.parcel, width: 3 }),
      }),
    ]);
    this.frameFeature.setStyle((feature) => this.frameStyle(feature));
    this.handleFeature.setStyle((feature) => this.handleStyle(feature));

    const vectorSource = new VectorSource({ features: [this.parcelFeature, this.frameFeature, this.handleFeature] });
    this.translate = new Translate({
      features: new Collection([this.frameFeature, this.handleFeature]),
      hitTolerance: 8,
    });
    this.translate.on('translating', () => this.frameDragged(false));
    this.translate.on('translateend', () => this.frameDragged(true));

    this.view = new View({
      projection: CRS,
      center: getCenter(dataExtent),
      extent: buffer(dataExtent, 500),
      constrainOnlyCenter: true,
      ...(cfg.tiles ? this.tileResolutions(cfg.tiles) : { maxResolution: 16, minResolution: 0.04, resolution: 4 }),
    });

    // under the map, not on it: on a phone the frame fills the map and its grip would end up under the buttons
    const zoom = new Zoom({
      zoomInTipLabel: this.t('map_zoom_in'),
      zoomOutTipLabel: this.t('map_zoom_out'),
      target: byId('map-zoom'),
    });
    this.map = new Map({
      target: this.elements.map,
      layers: [base, new VectorLayer({ source: vectorSource, updateWhileInteracting: true })],
      view: this.view,
      controls: [zoom],
      // pixel sizes of the server's labels are meant for one image pixel per CSS pixel
      pixelRatio: Math.min(window.devicePixelRatio || 1, 2),
      interactions: defaultInteractions({
        keyboard: false,
        mouseWheelZoom: false,
        altShiftDragRotate: false,
        pinchRotate: false,
      }).extend([new MouseWheelZoom({ onFocusOnly: true }), this.translate]),
    });
    byId('map-zoom').querySelectorAll('.ol-zoom button').forEach((button) => {
      button.setAttribute('aria-label', button.title);
    });
    this.showStart(dataExtent);

    this.map.on('singleclick', (event) => this.pickAt(event.coordinate, { fitIfSmall: true }));
    this.map.on('postrender', () => this.exposeFrame());
    this.map.on('pointermove', (event) => {
      if (!event.dragging) this.elements.map.classList.toggle('over-frame', this.featureUnder(event.pixel));
    });
  }

  // The service's tile grid (gis_service/tile_grid.py): panning and zooming fetch tiles the server and the
  // browser keep, instead of one new image of every view from the upstream.
  tileLayer(tiles) {
    const source = new XYZ({
      projection: CRS,
      url: tiles.url, // …/{z}/{y}/{x}.png: OpenLayers counts rows down from the top-left origin, as WMTS does
      tileGrid: new TileGrid({
        origin: tiles.origin,
        resolutions: tiles.resolutions,
        tileSize: tiles.tileSize,
        extent: tiles.extent,
      }),
      transition: REDUCED_MOTION ? 0 : 150,
    });
    source.on('tileloaderror', () => this.showError(this.t('map_load_error')));
    source.on('tileloadend', () => {
      if (this.elements.error.textContent === this.t('map_load_error')) this.clearError();
    });
    return new TileLayer({ source });
  }

  // The view stops only at the grid's levels (tiles at one image pixel per CSS pixel: the labels stay sharp),
  // and below the finest level at a few steps more with enlarged tiles.
  tileResolutions(tiles) {
    const resolutions = [...tiles.resolutions];
    for (let i = 0; i < FINEST_ZOOM_STEPS; i += 1) resolutions.push(resolutions[resolutions.length - 1] / 2);
    return { resolutions, constrainResolution: true, resolution: resolutions[Math.floor(resolutions.length / 2)] };
  }

  imageLayer() {
    const imageSource = new ImageSource({
      projection: CRS,
      loader: (extent, resolution) => this.loadMapImage(extent, resolution),
    });
    imageSource.on('imageloaderror', () => this.showError(this.t('map_load_error')));
    imageSource.on('imageloadend', () => {
      if (this.elements.error.textContent === this.t('map_load_error')) this.clearError();
    });
    return new ImageLayer({ source: imageSource });
  }

  // A readable neighbourhood in the middle of the data; a small dataset that fits at that scale is shown whole.
  showStart(dataExtent) {
    const size = this.map.getSize() || [300, 300];
    const whole = Math.max(getWidth(dataExtent) / size[0], getHeight(dataExtent) / size[1]);
    if (whole <= START_RESOLUTION) {
      this.view.fit(dataExtent, { size });
      return;
    }
    this.view.setResolution(START_RESOLUTION);
    const tiles = this.cfg.tiles;
    if (!tiles || !tiles.metatileSize) return;
    // The middle of the metatile that holds the data's middle: the first view then usually needs one
    // upstream request on a cold cache instead of the four around a metatile corner (some 500 m off at most).
    const block = this.view.getResolution() * tiles.tileSize * tiles.metatileSize;
    const [cx, cy] = getCenter(dataExtent);
    const [ox, oy] = tiles.origin;
    this.view.setCenter([
      ox + (Math.floor((cx - ox) / block) + 0.5) * block,
      oy - (Math.floor((oy - cy) / block) + 0.5) * block,
    ]);
  }

  // Where the frame is on screen, in CSS pixels of the map element: lets tests and tools find the grip.
  exposeFrame() {
    const geometry = this.frameFeature.getGeometry();
    let value = '';
    if (geometry) {
      const [minx, miny, maxx, maxy] = geometry.getExtent();
      const topLeft = this.map.getPixelFromCoordinate([minx, maxy]);
      const bottomRight = this.map.getPixelFromCoordinate([maxx, miny]);
      if (topLeft && bottomRight) value = [...topLeft, ...bottomRight].map((v) => Math.round(v)).join(',');
    }
    if (this.elements.map.dataset.frame !== value) this.elements.map.dataset.frame = value;
  }

  featureUnder(pixel) {
    let found = false;
    this.map.forEachFeatureAtPixel(pixel, (feature) => {
      if (feature === this.frameFeature || feature === this.handleFeature) found = true;
      return found;
    }, { hitTolerance: 8 });
    return found;
  }

  loadMapImage(extent, resolution) {
    const requested = getRequestExtent(extent, resolution, 1, 1.25);
    let res = resolution;
    let width = Math.round(getWidth(requested) / res);
    let height = Math.round(getHeight(requested) / res);
    const largest = Math.max(width, height);
    if (largest > MAX_IMAGE_PX) {
      res *= largest / MAX_IMAGE_PX;
      width = Math.round(getWidth(requested) / res);
      height = Math.round(getHeight(requested) / res);
    }
    const params = new URLSearchParams({
      bbox: requested.map((v) => v.toFixed(2)).join(','),
      width: String(width),
      height: String(height),
    });
    return decode(new Image(), `${this.cfg.urls.map}?${params}`).then((image) => ({
      image,
      extent: requested,
      resolution: [getWidth(requested) / width, getHeight(requested) / height],
      pixelRatio: 1,
    }));
  }

  frameStyle() {
    const colour = this.plan && !this.plan.fits ? COLOURS.warning : COLOURS.frame;
    return [
      new Style({ stroke: new Stroke({ color: COLOURS.halo, width: 7 }) }),
      new Style({ stroke: new Stroke({ color: colour, width: 3, lineDash: [12, 6] }) }),
    ];
  }

  handleStyle() {
    const colour = this.plan && !this.plan.fits ? COLOURS.warning : COLOURS.frame;
    return [
      new Style({
        image: new CircleStyle({ radius: 15, fill: new Fill({ color: colour }), stroke: new Stroke({ color: COLOURS.halo, width: 3 }) }),
      }),
      new Style({
        image: new RegularShape({ points: 4, radius: 9, radius2: 0, angle: 0, stroke: new Stroke({ color: COLOURS.halo, width: 2.5 }) }),
      }),
    ];
  }

  // --- the keyboard -----------------------------------------------------------------------

  bindKeyboard() {
    const directions = { ArrowUp: [0, 1], ArrowDown: [0, -1], ArrowLeft: [-1, 0], ArrowRight: [1, 0] };
    this.elements.map.addEventListener('keydown', (event) => {
      // keys on the zoom buttons inside the map stay theirs
      if (event.target !== this.elements.map || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key in directions) {
        event.preventDefault();
        if (event.shiftKey) this.moveFrame(directions[event.key]);
        else this.pan(directions[event.key]);
      } else if (event.key === '+' || event.key === '=') {
        event.preventDefault();
        this.zoomBy(1);
      } else if (event.key === '-' || event.key === '_') {
        event.preventDefault();
        this.zoomBy(-1);
      } else if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.pickAt(this.view.getCenter(), { fitIfSmall: false });
      }
    });
  }

  pan([dx, dy]) {
    const size = this.map.getSize();
    const step = Math.min(size[0], size[1]) * PAN_FRACTION * this.view.getResolution();
    const [x, y] = this.view.getCenter();
    this.view.animate({ center: [x + dx * step, y + dy * step], duration: REDUCED_MOTION ? 0 : 120 });
  }

  zoomBy(delta) {
    this.view.animate({ zoom: this.view.getZoom() + delta, duration: REDUCED_MOTION ? 0 : 200 });
  }

  bindFrameButtons() {
    const moves = { north: [0, 1], south: [0, -1], west: [-1, 0], east: [1, 0] };
    this.elements.frameControls.addEventListener('click', (event) => {
      const button = event.target.closest('button[data-move]');
      if (!button) return;
      const move = button.dataset.move;
      if (move === 'centre') {
        this.state.center = null;
        this.setStatus(this.t('frame_moved'));
        this.scheduleRefresh(0, { fit: true });
      } else {
        // a click is one deliberate step: its preview is asked for at once, not after the debounce of held keys
        this.moveFrame(moves[move], 0);
      }
    });
  }

  // --- the print frame --------------------------------------------------------------------

  currentCentre() {
    if (this.state.center) return this.state.center;
    return this.plan ? this.plan.centre : null;
  }

  clampCentre([x, y]) {
    const [minx, miny, maxx, maxy] = this.cfg.extent;
    return [
      Math.min(Math.max(x, minx - CENTRE_MARGIN_M), maxx + CENTRE_MARGIN_M),
      Math.min(Math.max(y, miny - CENTRE_MARGIN_M), maxy + CENTRE_MARGIN_M),
    ];
  }

  moveFrame([dx, dy], delay = PREVIEW_DEBOUNCE_MS) {
    const centre = this.currentCentre();
    if (!this.state.parcel || !centre) return;
    const step = (FRAME_STEP_MM * this.state.scale) / 1000;
    const moved = this.clampCentre([centre[0] + dx * step, centre[1] + dy * step]);
    this.placeFrame(moved);
    this.state.center = moved;
    this.keepFrameInView();
    this.setStatus(this.t('frame_moved'));
    this.scheduleRefresh(delay);
  }

  frameDragged(finished) {
    const frame = this.frameFeature.getGeometry();
    if (!frame) return;
    const centre = getCenter(frame.getExtent());
    const clamped = this.clampCentre(centre);
    if (finished && (clamped[0] !== centre[0] || clamped[1] !== centre[1])) this.placeFrame(clamped);
    this.state.center = clamped;
    this.scheduleRefresh(finished ? 0 : PREVIEW_DEBOUNCE_MS);
  }

  // Moves the frame to a centre at once; its size is the last plan's until the server answers.
  placeFrame(centre) {
    if (!this.plan) return;
    const [minx, miny, maxx, maxy] = this.plan.bbox;
    const halfW = (maxx - minx) / 2;
    const halfH = (maxy - miny) / 2;
    this.frameFeature.setGeometry(fromExtent([centre[0] - halfW, centre[1] - halfH, centre[0] + halfW, centre[1] + halfH]));
    // the grip sits on the top edge: in the middle it would hide the parcel's number
    this.handleFeature.setGeometry(new Point([centre[0], centre[1] + halfH]));
  }

  keepFrameInView() {
    const geometry = this.frameFeature.getGeometry();
    if (!geometry) return;
    const visible = this.view.calculateExtent(this.map.getSize());
    if (!containsExtent(visible, geometry.getExtent())) this.fitTo(geometry.getExtent());
  }

  fitTo(extent) {
    this.view.fit(buffer(extent, Math.max(getWidth(extent), getHeight(extent)) * 0.04), {
      size: this.map.getSize(),
      padding: [12, 12, 12, 12],
      duration: REDUCED_MOTION ? 0 : 250,
    });
  }

  // --- choosing a parcel ------------------------------------------------------------------

  async pickAt(coordinate, { fitIfSmall }) {
    const mine = ++this.parcelSequence;
    this.setStatus(this.t('map_searching'));
    const params = new URLSearchParams({ x: coordinate[0].toFixed(2), y: coordinate[1].toFixed(2) });
    const body = await this.getJSON(`${this.cfg.urls.parcels}?${params}`);
    if (!body || mine !== this.parcelSequence) return;
    if (!body.parcels.length) {
      this.setStatus(this.t('map_no_parcel_here'));
      return;
    }
    const fit = fitIfSmall && this.view.getResolution() > 1;
    this.chooseParcel(body.parcels[0], { fit });
  }

  async chooseByKey(key, center) {
    const mine = ++this.parcelSequence;
    const feature = await this.getJSON(`${this.cfg.urls.parcel}${encodeURIComponent(key)}`);
    if (!feature || mine !== this.parcelSequence) return;
    this.chooseParcel(feature, { fit: true, center });
  }

  chooseParcel(feature, { fit = false, center = null } = {}) {
    const props = feature.properties;
    this.state.parcel = props;
    this.state.center = center ? this.clampCentre(center) : null;
    this.plan = null;
    this.frameFeature.setGeometry(undefined);
    this.handleFeature.setGeometry(undefined);
    this.parcelFeature.setGeometry(new GeoJSON().readGeometry(feature.geometry));
    this.elements.panel.hidden = false;
    this.elements.frameControls.hidden = false;
    this.fillFacts(props);
    this.setStatus(this.t('map_selected', { description: this.describe(props) }));
    this.clearError();
    this.scheduleRefresh(0, { fit });
  }

  describe(props) {
    return [props.label, ...(props.lage || []), this.area(props.flaeche_m2)].join(', ');
  }

  area(value) {
    return value === null || value === undefined ? '–' : `${this.numberFormat.format(value)} m²`;
  }

  fillFacts(props) {
    const set = (field, value) => {
      const element = this.elements.facts.querySelector(`[data-field="${field}"]`);
      if (element) element.textContent = value;
    };
    set('label', props.label);
    set('key', props.kennzeichen);
    set('lage', props.lage && props.lage.length ? props.lage.join('; ') : '–');
    set('area', this.area(props.flaeche_m2));
  }

  readOptions() {
    const form = this.elements.options;
    this.state.paper = form.elements.paper.value;
    this.state.orientation = form.elements.orientation.value;
    this.state.scale = Number(form.elements.scale.value);
  }

  // --- the preview ------------------------------------------------------------------------

  previewParams() {
    const { parcel, scale, paper, orientation, center } = this.state;
    const params = { parcel: parcel.kennzeichen, scale: String(scale), paper, orientation };
    if (center) params.center = center.map((v) => v.toFixed(2)).join(',');
    return params;
  }

  scheduleRefresh(delay, { fit = false } = {}) {
    if (!this.state.parcel) return;
    this.pendingFit = this.pendingFit || fit;
    clearTimeout(this.refreshTimer);
    this.elements.figure.setAttribute('aria-busy', 'true');
    this.refreshWaiting = true;
    this.refreshTimer = setTimeout(() => this.refresh(), delay);
  }

  // Only the newest request may say that the preview is ready.
  previewDone(sequence) {
    if (sequence === this.refreshSequence && !this.refreshWaiting) this.elements.figure.removeAttribute('aria-busy');
  }

  async refresh() {
    this.refreshWaiting = false;
    const mine = ++this.refreshSequence;
    const params = this.previewParams();
    const query = new URLSearchParams({ ...params, dpi: String(this.cfg.defaults.dpi) });
    this.preloadPreview(`${this.cfg.urls.preview_png}?${query}`);
    const plan = await this.getJSON(`${this.cfg.urls.preview_json}?${query}`);
    if (mine !== this.refreshSequence) return;
    if (!plan) {
      this.previewDone(mine);
      return;
    }
    this.plan = plan;
    this.placeFrame(this.state.center || plan.centre);
    this.frameFeature.changed();
    this.handleFeature.changed();
    if (this.pendingFit) {
      const extent = extend(this.frameFeature.getGeometry().getExtent().slice(), this.parcelFeature.getGeometry().getExtent());
      this.fitTo(extent);
      this.pendingFit = false;
    }
    this.showFits(plan);
    this.showPreview(params, query, plan, mine);
    this.fillSelectForm(params);
  }

  // The image is asked for together with its description, not after it: one round trip instead of two.
  // The browser keeps it (the service allows that), so showing it below takes it from there.
  preloadPreview(src) {
    const viewer = document.getElementById('viewer')?.gisViewer;
    const image = new Image();
    image.src = viewer ? viewer.sourceFor(src) : src;
    this.preloading = image; // held until the next refresh, so it is not collected before it has loaded
  }

  showFits(plan) {
    const { fits } = this.elements;
    const message = plan.advice;
    fits.className = `message ${plan.fits ? 'ok' : 'warning'}`;
    let paragraph = fits.querySelector('p');
    if (!paragraph) {
      paragraph = document.createElement('p');
      fits.append(paragraph);
    }
    if (paragraph.textContent !== message) paragraph.textContent = message;
  }

  showPreview(params, query, plan, sequence) {
    const { image, pdf, pdfDownload } = this.elements;
    const src = `${this.cfg.urls.preview_png}?${query}`;
    const alt = this.t('preview_alt', {
      label: plan.label,
      scale: plan.scale,
      paper: plan.paper,
      orientation: this.t(plan.orientation),
    });
    const done = () => this.previewDone(sequence);
    const failed = () => {
      done();
      this.showError(this.t('map_error_network'));
    };
    const viewer = document.getElementById('viewer')?.gisViewer;
    if (viewer) {
      viewer.show({ src, width: plan.image_px[0], height: plan.image_px[1], alt }).then(done, failed);
    } else {
      image.alt = alt;
      image.width = plan.image_px[0];
      image.height = plan.image_px[1];
      image.onload = done;
      image.onerror = failed;
      if (image.getAttribute('src') !== src) image.src = src;
      else done();
    }
    const caption = document.getElementById('viewer-caption');
    if (caption) {
      caption.textContent = this.t('viewer_caption', { label: plan.label, scale: plan.scale, paper: plan.paper,
        orientation: this.t(plan.orientation) });
    }
    const pdfQuery = new URLSearchParams({ ...params, dpi: String(this.cfg.defaults.pdf_dpi) });
    pdf.href = `${this.cfg.urls.preview_pdf}?${pdfQuery}`;
    if (pdfDownload) pdfDownload.href = `${this.cfg.urls.preview_pdf}?${pdfQuery}&download=1`;
  }

  fillSelectForm(params) {
    const fields = this.elements.select.elements;
    fields.parcel.value = params.parcel;
    fields.scale.value = params.scale;
    fields.paper.value = params.paper;
    fields.orientation.value = params.orientation;
    fields.center.value = params.center || '';
    this.elements.options.elements.parcel.value = params.parcel;
  }

  // --- talking to the server and to the citizen ------------------------------------------

  async getJSON(url) {
    let response;
    try {
      response = await fetch(url, { headers: { Accept: 'application/json', 'Accept-Language': this.lang } });
    } catch {
      this.showError(this.t('map_error_network'));
      return null;
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) {
      const detail = body && (body.detail || body.title);
      this.showError(detail ? this.t('map_error', { detail }) : this.t('map_error_network'));
      return null;
    }
    this.clearError();
    return body;
  }

  setStatus(message) {
    const { status } = this.elements;
    // the same text twice would not be announced again
    if (status.textContent === message) status.textContent = '';
    status.textContent = message;
  }

  showError(message) {
    this.elements.error.textContent = message;
  }

  clearError() {
    if (this.elements.error.textContent) this.elements.error.textContent = '';
  }
}
