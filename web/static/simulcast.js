// @ts-check
/**
 * Simulcast and what the server forwards: the browser's side of docs/protocol.md's
 * `track-view`, `track-layer` and `publish-layers`. No DOM code.
 *
 * A camera is published in three layers (encodings) of one track, told apart by
 * their rid: `q` (a quarter of the camera's width and height), `h` (half) and `f`
 * (full size), in that order. The server forwards each subscriber the layer that fits
 * its bandwidth and the size of the tile that shows it (`track-layer` says which), and
 * tells the publisher which layers nobody needs (`publish-layers`): the browser then
 * stops encoding them, with `RTCRtpSender.setParameters` (no renegotiation). A screen
 * share is sent in one layer.
 *
 * @module simulcast
 */

/** @import { Source } from './switchboard.js' */

/** @typedef {'q' | 'h' | 'f'} LayerRid */

/**
 * The camera's layers, lowest first (the order browsers and the server expect). The
 * bitrates are ceilings: the browser's own congestion control may send less.
 * @type {ReadonlyArray<Readonly<{rid: LayerRid, scaleResolutionDownBy: number, maxBitrate: number}>>}
 */
export const CAMERA_LAYERS = Object.freeze([
  Object.freeze({ rid: /** @type {LayerRid} */ ('q'), scaleResolutionDownBy: 4, maxBitrate: 150_000 }),
  Object.freeze({ rid: /** @type {LayerRid} */ ('h'), scaleResolutionDownBy: 2, maxBitrate: 500_000 }),
  Object.freeze({ rid: /** @type {LayerRid} */ ('f'), scaleResolutionDownBy: 1, maxBitrate: 1_500_000 }),
]);

/**
 * What the page asks of the camera: its full layer at 1280x720 when the camera can,
 * so that the two layers below it (640x360, 320x180) are worth sending.
 * @type {MediaTrackConstraints}
 */
export const CAMERA_CONSTRAINTS = Object.freeze({ width: { ideal: 1280 }, height: { ideal: 720 } });

/**
 * The least camera width (pixels) sent in layers: below it the layers would be too
 * small to be worth their bits (browsers themselves send fewer layers for small
 * frames: Chromium one below about 480x270), and the camera goes out as one layer.
 */
export const MIN_SIMULCAST_WIDTH = 640;

/**
 * The `sendEncodings` to publish `track` with: the camera's layers for camera video
 * at least MIN_SIMULCAST_WIDTH wide, nothing (one layer) for smaller cameras, audio
 * and screen shares.
 * @param {MediaStreamTrack} track
 * @param {Source} source
 * @returns {RTCRtpEncodingParameters[] | undefined}
 */
export function sendEncodingsFor(track, source) {
  if (track.kind !== 'video' || source !== 'camera') return undefined;
  const { width } = track.getSettings();
  if (width !== undefined && width < MIN_SIMULCAST_WIDTH) return undefined;
  return CAMERA_LAYERS.map((layer) => ({ ...layer, active: true }));
}

/**
 * What the server forwards of a track to this client (`track-layer`).
 * @typedef {object} TrackLayer
 * @property {string} track   the track's id
 * @property {string} layer   the rid forwarded; "" for a track of one layer
 * @property {boolean} paused nothing of the track is forwarded
 * @property {string} reason  why it is paused: `bandwidth`, `hidden`, `muted`, or ""
 */

/**
 * Which layers of one of this client's tracks anyone needs (`publish-layers`).
 * @typedef {object} PublishLayers
 * @property {string} track  the track's id
 * @property {string} mid    the publisher connection's mid of the track; "" when the server does not say
 * @property {Record<string, boolean>} active  by rid
 */

/**
 * How a subscriber shows a track (`track-view`): its tile's size in device pixels, and
 * whether it can be seen at all.
 * @typedef {object} TrackView
 * @property {number} width
 * @property {number} height
 * @property {boolean} visible
 */

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a `track-layer` message; null when it is malformed.
 * @param {Record<string, unknown>} m
 * @returns {TrackLayer | null}
 */
export function parseTrackLayer(m) {
  if (typeof m.track !== 'string' || m.track === '') return null;
  return {
    track: m.track,
    layer: typeof m.layer === 'string' ? m.layer : '',
    paused: m.paused === true,
    reason: typeof m.reason === 'string' ? m.reason : '',
  };
}

/**
 * Reads a `publish-layers` message; null when it is malformed.
 * @param {Record<string, unknown>} m
 * @returns {PublishLayers | null}
 */
export function parsePublishLayers(m) {
  if (typeof m.track !== 'string' || !isRecord(m.active)) return null;
  /** @type {Record<string, boolean>} */
  const active = {};
  for (const [rid, on] of Object.entries(m.active)) {
    if (typeof on === 'boolean') active[rid] = on;
  }
  return { track: m.track, mid: typeof m.mid === 'string' ? m.mid : '', active };
}

/**
 * The sender's last change of layers, so that changes to one sender are made one at
 * a time (setParameters refuses parameters read before another change completed).
 * @type {WeakMap<RTCRtpSender, Promise<void>>}
 */
const pendingChanges = new WeakMap();

/**
 * Turns the sender's encodings on or off by rid, as `active` says; rids it does not
 * name keep their state. Changes to one sender are applied in call order. Resolves
 * when applied; rejects with what setParameters refused.
 * @param {RTCRtpSender} sender
 * @param {Record<string, boolean>} active
 * @returns {Promise<void>}
 */
export function setActiveLayers(sender, active) {
  const previous = pendingChanges.get(sender) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(async () => {
    const params = sender.getParameters();
    let changed = false;
    for (const encoding of params.encodings) {
      const want = encoding.rid === undefined ? undefined : active[encoding.rid];
      if (want === undefined || (encoding.active ?? true) === want) continue;
      encoding.active = want;
      changed = true;
    }
    if (changed) await sender.setParameters(params);
  });
  pendingChanges.set(sender, next);
  return next;
}
