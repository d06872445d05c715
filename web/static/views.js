// @ts-check
/**
 * How the page shows each remote video, for the server's choice of layer: the tile's
 * size and visibility go out as `track-view` (debounced), and what the server says it
 * forwards (`track-layer`) comes back as a badge and data attributes on the tile.
 *
 * A video counts as visible while its page is visible (document.visibilityState), its
 * element is displayed (has a box) and some of it is inside the viewport
 * (IntersectionObserver). Its size is the element's CSS size times devicePixelRatio.
 *
 * Tile attributes (for tests and styles): `data-layer` is the rid forwarded (`q`, `h`,
 * `f`, or "" for a track of one layer) while the video is forwarded; while it is not,
 * `data-layer` is absent and `data-paused-reason` says why (`bandwidth`, `hidden`,
 * `muted`, or ""). The badge is `.layer-badge`.
 *
 * @module views
 */

/** @import { TrackLayer, TrackView } from './simulcast.js' */

/** How long a tile's view must stay unchanged before it is reported. */
export const VIEW_DEBOUNCE_MS = 250;

/** The largest width or height the protocol takes (docs/protocol.md, `track-view`). */
const MAX_VIEW_SIZE = 16384;

/** Words of the badge, by rid. */
const LAYER_TEXT = /** @type {Record<string, string>} */ ({ q: 'low', h: 'medium', f: 'high' });

/**
 * One observed video.
 * @typedef {object} Watched
 * @property {HTMLElement} element  what is measured (the tile's video)
 * @property {HTMLElement} tile     what carries the attributes and the badge
 * @property {boolean} intersecting
 * @property {string} sent  the view last sent, as JSON ("" before the first)
 */

/**
 * The views of the remote videos of one call. Each observed track gets a `track-view`
 * soon after it is observed and whenever its view changes (after VIEW_DEBOUNCE_MS of
 * quiet); views that did not change are not sent again.
 */
export class TrackViews {
  /**
   * @param {(trackId: string, view: TrackView) => void} send
   */
  constructor(send) {
    this.send = send;
    /** @type {Map<string, Watched>} by track id */
    this.watched = new Map();
    /** @type {Map<string, TrackLayer>} the latest track-layer of each track, also of tracks not (yet) shown */
    this.layers = new Map();
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.intersections = new IntersectionObserver((entries) => this.intersected(entries));
    this.resizes = new ResizeObserver(() => this.changed());
    this.onVisibility = () => this.changed();
    document.addEventListener('visibilitychange', this.onVisibility);
    window.addEventListener('resize', this.onVisibility);
  }

  /**
   * Starts reporting how `element` shows track `trackId`; `tile` gets the layer's
   * badge and attributes. Observing a track again moves it to the new element.
   * @param {string} trackId
   * @param {HTMLElement} element
   * @param {HTMLElement} tile
   */
  observe(trackId, element, tile) {
    this.unobserve(trackId);
    // One element may show two tracks for a while (an auto room's switch hands the
    // tile from the old path's track to the new one's): they share its observation.
    const sharing = this.sharing(element);
    this.watched.set(trackId, { element, tile, intersecting: sharing?.intersecting ?? false, sent: '' });
    if (!sharing) {
      this.intersections.observe(element);
      this.resizes.observe(element);
    }
    this.render(trackId);
    this.changed();
  }

  /**
   * Stops reporting track `trackId` and takes its badge off its tile.
   * @param {string} trackId
   */
  unobserve(trackId) {
    const watched = this.watched.get(trackId);
    if (!watched) return;
    this.watched.delete(trackId);
    if (!this.sharing(watched.element)) {
      this.intersections.unobserve(watched.element);
      this.resizes.unobserve(watched.element);
    }
    showLayer(watched.tile, null);
    for (const [id, other] of this.watched) {
      if (other.tile === watched.tile) this.render(id);
    }
  }

  /**
   * Another watched track shown by `element`, if any.
   * @private
   * @param {HTMLElement} element
   */
  sharing(element) {
    for (const watched of this.watched.values()) {
      if (watched.element === element) return watched;
    }
    return undefined;
  }

  /**
   * What the server now forwards of a track (`track-layer`).
   * @param {TrackLayer} layer
   */
  setLayer(layer) {
    this.layers.set(layer.track, layer);
    this.render(layer.track);
  }

  /** Stops everything; the tiles keep what they show. */
  close() {
    clearTimeout(this.timer);
    this.intersections.disconnect();
    this.resizes.disconnect();
    document.removeEventListener('visibilitychange', this.onVisibility);
    window.removeEventListener('resize', this.onVisibility);
    this.watched.clear();
    this.layers.clear();
  }

  /**
   * @private
   * @param {string} trackId
   */
  render(trackId) {
    const watched = this.watched.get(trackId);
    if (watched) showLayer(watched.tile, this.layers.get(trackId) ?? null);
  }

  /**
   * @private
   * @param {IntersectionObserverEntry[]} entries
   */
  intersected(entries) {
    for (const entry of entries) {
      for (const watched of this.watched.values()) {
        if (watched.element === entry.target) watched.intersecting = entry.isIntersecting;
      }
    }
    this.changed();
  }

  /**
   * Something may have changed a view: report in VIEW_DEBOUNCE_MS, unless something
   * else changes before.
   * @private
   */
  changed() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), VIEW_DEBOUNCE_MS);
  }

  /** @private */
  flush() {
    for (const [trackId, watched] of this.watched) {
      const view = viewOf(watched);
      const key = JSON.stringify(view);
      if (key === watched.sent) continue;
      watched.sent = key;
      this.send(trackId, view);
    }
  }
}

/**
 * @param {Watched} watched
 * @returns {TrackView}
 */
function viewOf(watched) {
  const box = watched.element.getBoundingClientRect();
  const scale = window.devicePixelRatio || 1;
  const width = Math.min(MAX_VIEW_SIZE, Math.round(box.width * scale));
  const height = Math.min(MAX_VIEW_SIZE, Math.round(box.height * scale));
  const visible = document.visibilityState === 'visible' && watched.element.isConnected &&
    width > 0 && height > 0 && watched.intersecting;
  return { width, height, visible };
}

/**
 * Puts what the server forwards of a tile's video on the tile (null: nothing known).
 * @param {HTMLElement} tile
 * @param {TrackLayer | null} layer
 */
function showLayer(tile, layer) {
  let badge = tile.querySelector(':scope > .layer-badge');
  if (!layer || (!layer.paused && layer.layer === '')) {
    delete tile.dataset.layer;
    delete tile.dataset.pausedReason;
    if (layer) tile.dataset.layer = '';
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = document.createElement('span');
    badge.className = 'layer-badge';
    tile.append(badge);
  }
  if (layer.paused) {
    delete tile.dataset.layer;
    tile.dataset.pausedReason = layer.reason;
    badge.textContent = layer.reason ? `video paused: ${layer.reason}` : 'video paused';
    badge.classList.add('paused');
  } else {
    delete tile.dataset.pausedReason;
    tile.dataset.layer = layer.layer;
    badge.textContent = LAYER_TEXT[layer.layer] ?? layer.layer;
    badge.classList.remove('paused');
  }
  badge.setAttribute('title', layer.paused ? 'The server does not send this video now' : `Quality received: ${layer.layer}`);
}
