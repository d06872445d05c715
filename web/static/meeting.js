// @ts-check
/**
 * What the call view shows on top of the tiles app.js makes: the grid layout
 * (grid.js), who speaks (the server's active-speaker), who is muted and how well each
 * participant's media arrives (quality.js). It finds tiles by their data attributes
 * (`.tile.remote[data-participant][data-source]`, `.tile.local[data-local]`), so app.js
 * only tells it when a call starts and ends and when the client reports something.
 *
 * Attributes it sets, for styling and tests:
 * - `.tile[data-speaking]`: the participant is among the active speakers;
 *   `.tile[data-featured]`: the camera tile of the latest loudest speaker other than
 *   oneself, placed first after screen shares (it stays so until another speaks).
 * - `.tile[data-muted-audio]`, `.tile[data-muted-video]` on a remote camera tile, with
 *   why: `server` (an administrator muted the track: track-muted), `self` (in an SFU
 *   room, its publisher said it muted the source: track-muted with selfMuted),
 *   `track` (the received track is muted: nothing arrives), `silent` (audio arrives
 *   with no sound at all: in a mesh room, how a muted microphone shows; see
 *   quality.js).
 * - `.tile .quality[data-quality=good|fair|poor]` on a remote camera tile; its title
 *   gives the numbers.
 *
 * @module meeting
 */

import { TileGrid } from './grid.js';
import { StatsWatcher } from './quality.js';

/** @import { SwitchboardClient, TrackInfo } from './switchboard.js' */
/** @import { ParticipantReport } from './quality.js' */

export class MeetingView {
  /** @param {HTMLElement} tiles  the container of the tiles */
  constructor(tiles) {
    this.tiles = tiles;
    this.grid = new TileGrid(tiles);
    /** @type {SwitchboardClient | null} */
    this.client = null;
    /** @type {StatsWatcher | null} */
    this.stats = null;
    /** @type {Map<string, ParticipantReport>} the latest reports, by participant */
    this.reports = new Map();
    /** participant whose tile is featured ('' for none) */
    this.featured = '';
  }

  /**
   * Starts showing `client`'s call (once joined).
   * @param {SwitchboardClient} client
   */
  start(client) {
    this.stop();
    this.client = client;
    this.stats = new StatsWatcher(client, (reports) => {
      this.reports = reports;
      this.renderMedia();
    });
    this.stats.start();
    this.grid.update();
  }

  /** Stops reading stats; the tiles themselves are app.js's to remove. */
  stop() {
    this.stats?.stop();
    this.stats = null;
    this.client = null;
    this.reports = new Map();
    this.featured = '';
  }

  /**
   * The active speakers changed (SwitchboardClient.onactivespeaker).
   * @param {string[]} speakers  participant ids, loudest first
   */
  speakersChanged(speakers) {
    const self = this.client?.self?.id ?? '';
    const speaking = new Set(speakers);
    const loudest = speakers.find((id) => id !== self);
    const changed = loudest !== undefined && loudest !== this.featured;
    if (loudest) this.featured = loudest;
    for (const tile of this.tileElements()) {
      const id = this.participantOf(tile);
      const featured = id === this.featured && tile.dataset.source === 'camera' && tile.classList.contains('remote');
      toggleData(tile, 'speaking', speaking.has(id) ? '' : null);
      toggleData(tile, 'featured', featured ? '' : null);
      if (featured && changed) this.keepInView(tile);
    }
  }

  /**
   * Scrolls the tile area (when it scrolls: many tiles) so that `tile` shows. Only the
   * area scrolls, never the page.
   * @private
   * @param {HTMLElement} tile
   */
  keepInView(tile) {
    const area = this.tiles.getBoundingClientRect();
    const box = tile.getBoundingClientRect();
    if (box.top < area.top || box.bottom > area.bottom) this.tiles.scrollTop += box.top - area.top;
  }

  /**
   * A tile was added or re-rendered: give it the state known so far.
   */
  refresh() {
    if (this.client) this.speakersChanged(this.client.speakers);
    this.renderMedia();
  }

  /**
   * Mute flags and quality indicators of the remote camera tiles.
   * @private
   */
  renderMedia() {
    const client = this.client;
    if (!client) return;
    for (const tile of this.tiles.querySelectorAll('.tile.remote[data-source="camera"]')) {
      if (!(tile instanceof HTMLElement)) continue;
      const id = tile.dataset.participant ?? '';
      const report = this.reports.get(id);
      const infos = [...(client.participants.get(id)?.tracks.values() ?? [])];
      toggleData(tile, 'mutedAudio', muteReason(infos, 'microphone', receivedTrack(tile, 'audio'), report?.audioSilent ?? false));
      toggleData(tile, 'mutedVideo', muteReason(infos, 'camera', receivedTrack(tile, 'video'), false));
      renderQuality(tile, report);
    }
  }

  /**
   * @private
   * @returns {HTMLElement[]}
   */
  tileElements() {
    return [...this.tiles.querySelectorAll('.tile')].filter((t) => t instanceof HTMLElement);
  }

  /**
   * @private
   * @param {HTMLElement} tile
   */
  participantOf(tile) {
    return tile.classList.contains('local') ? this.client?.self?.id ?? '' : tile.dataset.participant ?? '';
  }
}

/**
 * Why a participant's source counts as muted, or null when it does not.
 * @param {TrackInfo[]} infos  the participant's published tracks
 * @param {'microphone' | 'camera'} source
 * @param {MediaStreamTrack | null} track  the track its tile plays
 * @param {boolean} silent
 * @returns {string | null}
 */
function muteReason(infos, source, track, silent) {
  if (infos.some((info) => info.source === source && info.muted)) return 'server';
  if (infos.some((info) => info.source === source && info.selfMuted)) return 'self';
  if (!track) return null; // nothing published: not muted, absent
  if (track.muted) return 'track';
  return silent ? 'silent' : null;
}

/**
 * The track of `kind` a tile plays.
 * @param {HTMLElement} tile
 * @param {'audio' | 'video'} kind
 */
function receivedTrack(tile, kind) {
  const media = tile.querySelector(kind);
  const stream = media instanceof HTMLMediaElement ? media.srcObject : null;
  return stream instanceof MediaStream ? stream.getTracks().find((t) => t.kind === kind) ?? null : null;
}

/**
 * @param {HTMLElement} tile
 * @param {ParticipantReport | undefined} report
 */
function renderQuality(tile, report) {
  let indicator = tile.querySelector('.quality');
  if (!(indicator instanceof HTMLElement)) {
    indicator = document.createElement('span');
    indicator.className = 'quality';
    tile.querySelector('figcaption')?.prepend(indicator);
  }
  if (!(indicator instanceof HTMLElement)) return;
  if (!report) {
    delete indicator.dataset.quality;
    indicator.title = 'Connection quality: not measured yet';
    return;
  }
  const m = report.measure;
  indicator.dataset.quality = report.quality;
  indicator.title = `Connection ${report.quality}: ${(m.loss * 100).toFixed(1)} % lost, jitter ${m.jitterMs.toFixed(0)} ms, ` +
    `round trip ${m.rttMs.toFixed(0)} ms${m.fps === null ? '' : `, ${m.fps.toFixed(0)} frames/s`}`;
  indicator.setAttribute('aria-label', indicator.title);
}

/**
 * Sets (a string) or removes (null) a data attribute, touching the DOM only on change.
 * @param {HTMLElement} element
 * @param {string} key  camelCase dataset key
 * @param {string | null} value
 */
function toggleData(element, key, value) {
  if (value === null) {
    if (key in element.dataset) delete element.dataset[key];
  } else if (element.dataset[key] !== value) {
    element.dataset[key] = value;
  }
}
