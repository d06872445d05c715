// @ts-check
/**
 * One mode switch of an auto room (docs/protocol.md, "Auto rooms"), as the client
 * paces it. No DOM code.
 *
 * While the room changes mode, the client receives every other participant's media
 * twice: on the old path (the mode it leaves) and on the new one. A {@link ModeSwitch}
 * decides when the application sees a new-path track: it holds each new-path track
 * back from `ontrack` until it plays, so that the application keeps showing the old
 * path's track until then and swaps without a gap. A video track plays once its
 * decoded frame count (inbound-rtp `framesDecoded` of its receiver) has grown over
 * PLAYING_SAMPLES samples in a row (one decoded keyframe is not yet a picture that
 * moves); a participant's microphone is held with its camera, so that sound and
 * picture move to the new path together (a participant that sends no camera video
 * has its audio shown at once).
 *
 * When every remote track of the old path has a counterpart (same participant, kind
 * and source) on the new path that the application was given, or after
 * SWITCH_GIVE_UP_MS, the switch is done on this side: the session sends `switched`.
 * Giving up also hands the application every held track, playing or not. The server's
 * `switched` ends the switch ({@link ModeSwitch.finish}); the session then closes the
 * old path's connections.
 *
 * @module switch
 */

/** @import { RemoteTrack, RoomMode } from './switchboard.js' */

/** How often held video tracks' decoded frame counts are sampled. */
export const SWITCH_POLL_MS = 150;

/** How many samples in a row a held video's decoded frame count must grow at to play. */
export const PLAYING_SAMPLES = 2;

/**
 * How long a client waits for the new path's media before it says `switched`
 * anyway (docs/protocol.md: clients give up after 10 s).
 */
export const SWITCH_GIVE_UP_MS = 10_000;

/**
 * What a switch needs from the session that runs it.
 * @typedef {object} SwitchHost
 * @property {() => Iterable<string>} participantIds  the other participants in the call now
 * @property {() => RemoteTrack[]} receivedTracks  every remote track being received, on either path
 * @property {(remote: RemoteTrack) => void} reveal  hands a held new-path track to the application
 * @property {(epoch: number) => void} sendSwitched  this side has the new path playing (or gave up): say `switched`
 */

/**
 * A held new-path track and what sampling has seen of it.
 * @typedef {object} Held
 * @property {RemoteTrack} remote
 * @property {number | null} decoded  framesDecoded at the last sample (video), null before the first
 * @property {number} growing  how many samples in a row found it grown
 */

/**
 * The key that pairs an old-path track with its new-path counterpart.
 * @param {RemoteTrack} remote
 */
function pairKey(remote) {
  return `${remote.info.participant}/${remote.info.kind}/${remote.info.source}`;
}

/**
 * framesDecoded of the inbound video a receiver gets, or 0 when it has none yet.
 * @param {RTCRtpReceiver} receiver
 */
async function framesDecoded(receiver) {
  const stats = await receiver.getStats();
  let frames = 0;
  stats.forEach((report) => {
    if (report.type === 'inbound-rtp' && report.kind === 'video') frames += report.framesDecoded ?? 0;
  });
  return frames;
}

/**
 * The pacing of one switch, from the session's `switch` message to the server's
 * `switched`. Single use.
 */
export class ModeSwitch {
  /**
   * @param {SwitchHost} host
   * @param {RoomMode} from  the mode the room leaves: the old path
   * @param {RoomMode} to    the mode it enters: the new path
   * @param {number} epoch
   */
  constructor(host, from, to, epoch) {
    this.host = host;
    this.from = from;
    this.to = to;
    this.epoch = epoch;
    /** @type {Map<MediaStreamTrack, Held>} new-path tracks not yet shown to the application */
    this.held = new Map();
    /** @type {Set<string>} pair keys of new-path tracks the application has (see pairKey) */
    this.shown = new Set();
    /** whether `switched` was said */
    this.saidDone = false;
    /** whether the wait gave up: nothing is held any more */
    this.gaveUp = false;
    this.finished = false;
    /** whether a sample is in flight (samples do not overlap) */
    this.sampling = false;
    this.pollTimer = setInterval(() => { void this.poll(); }, SWITCH_POLL_MS);
    this.giveUpTimer = setTimeout(() => this.giveUp(), SWITCH_GIVE_UP_MS);
  }

  /**
   * A track arrived on the new path. Returns whether the switch holds it back; a
   * track not held is for the application at once.
   * @param {RemoteTrack} remote
   * @returns {boolean}
   */
  hold(remote) {
    if (this.finished || this.gaveUp) return false;
    if (remote.info.kind === 'audio' && !this.waitsForCamera(remote.info.participant)) {
      this.shown.add(pairKey(remote));
      this.check();
      return false;
    }
    this.held.set(remote.track, { remote, decoded: null, growing: 0 });
    return true;
  }

  /**
   * A new-path track went away. Returns whether it was held (and so never shown).
   * @param {RemoteTrack} remote
   * @returns {boolean}
   */
  drop(remote) {
    return this.held.delete(remote.track);
  }

  /**
   * The switch is over (the server said `switched`): every held track goes to the
   * application, timers stop.
   */
  finish() {
    if (this.finished) return;
    this.cancel();
    this.revealAll();
  }

  /** The session ends: timers stop, held tracks are forgotten. */
  cancel() {
    this.finished = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.giveUpTimer);
  }

  /**
   * Whether a participant's microphone waits for its camera: it has camera video on
   * the old path whose new-path counterpart the application does not have yet.
   * @private
   * @param {string} participant
   */
  waitsForCamera(participant) {
    const camera = `${participant}/video/camera`;
    if (this.shown.has(camera)) return false;
    return this.host.receivedTracks().some((r) => r.path === this.from && pairKey(r) === camera);
  }

  /**
   * Samples every held video track; shows those whose frames are being decoded.
   * @private
   */
  async poll() {
    if (this.sampling || this.finished) return;
    this.sampling = true;
    try {
      const videos = [...this.held.values()].filter((h) => h.remote.info.kind === 'video');
      const counts = await Promise.all(videos.map((h) => framesDecoded(h.remote.receiver).catch(() => 0)));
      if (this.finished) return;
      for (const [i, held] of videos.entries()) {
        const grew = held.decoded !== null && counts[i] > held.decoded;
        held.decoded = counts[i];
        held.growing = grew ? held.growing + 1 : 0;
        if (held.growing >= PLAYING_SAMPLES && this.held.has(held.remote.track)) this.reveal(held.remote);
      }
    } finally {
      this.sampling = false;
    }
    this.check();
  }

  /**
   * Shows a held track, and with a camera its participant's held microphone.
   * @private
   * @param {RemoteTrack} remote
   */
  reveal(remote) {
    this.held.delete(remote.track);
    this.shown.add(pairKey(remote));
    this.host.reveal(remote);
    if (remote.info.source !== 'camera') return;
    for (const held of [...this.held.values()]) {
      const other = held.remote;
      if (other.info.kind === 'audio' && other.info.participant === remote.info.participant) this.reveal(other);
    }
  }

  /** @private */
  revealAll() {
    for (const held of [...this.held.values()]) {
      if (this.held.has(held.remote.track)) this.reveal(held.remote);
    }
  }

  /**
   * Says `switched` once every old-path track of a participant still in the call
   * has its counterpart shown from the new path.
   * @private
   */
  check() {
    if (this.saidDone || this.finished) return;
    const present = new Set(this.host.participantIds());
    const waiting = this.host.receivedTracks().some((r) =>
      r.path === this.from && present.has(r.info.participant) && !this.shown.has(pairKey(r)));
    if (waiting) return;
    this.saidDone = true;
    this.host.sendSwitched(this.epoch);
  }

  /** @private */
  giveUp() {
    if (this.finished) return;
    this.gaveUp = true;
    clearInterval(this.pollTimer);
    this.revealAll();
    if (!this.saidDone) {
      this.saidDone = true;
      this.host.sendSwitched(this.epoch);
    }
  }
}
