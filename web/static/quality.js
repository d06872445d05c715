// @ts-check
/**
 * What the received media of each participant looks like, from the peer connections'
 * getStats() once a second: a connection quality (good, fair or poor: packet loss,
 * jitter, round-trip time, frames decoded) and whether their microphone sends only
 * silence. No DOM code.
 *
 * The protocol has no message for muting oneself: the browser client mutes by
 * disabling the track (switchboard.js setMuted), which then sends digital silence.
 * The receiving side sees that as audio with no energy at all, which a live
 * microphone never has; it reports `audioSilent`. (A microphone that records pure
 * silence, or audio that stopped arriving, reads the same: nothing is heard.)
 *
 * @module quality
 */

/** @import { SwitchboardClient } from './switchboard.js' */

/** How often the stats are read. */
export const STATS_INTERVAL_MS = 1000;

/**
 * Total audio energy (sum of squared levels times seconds) below which an interval of
 * received audio counts as silence: digital silence is 0; a quiet room, about -70 dBov,
 * is 1e-7 per second.
 */
export const SILENCE_ENERGY = 1e-9;

/** @typedef {'good' | 'fair' | 'poor'} Quality */

/**
 * What one interval of a participant's received media measured.
 * @typedef {object} Measure
 * @property {number} loss      fraction of the interval's packets lost, 0..1
 * @property {number} jitterMs  the worst of their tracks' jitter
 * @property {number} rttMs     round-trip time of the connection that carries them
 * @property {number | null} fps  video frames decoded per second; null when no video arrived
 * @property {boolean} receiving  whether any of their packets arrived in the interval
 */

/**
 * The quality a measure rates.
 * @param {Measure} m
 * @returns {Quality}
 */
export function classify(m) {
  if (!m.receiving || m.loss >= 0.08 || m.jitterMs >= 100 || m.rttMs >= 600 || (m.fps !== null && m.fps < 3)) return 'poor';
  if (m.loss < 0.02 && m.jitterMs < 30 && m.rttMs < 250 && (m.fps === null || m.fps >= 10)) return 'good';
  return 'fair';
}

/**
 * A participant's received media over the last interval.
 * @typedef {object} ParticipantReport
 * @property {Quality} quality
 * @property {Measure} measure
 * @property {boolean} audioSilent  audio arrives (or is expected) and carries no sound
 */

/**
 * Counters of one inbound-rtp stream at the previous reading, by stats id.
 * @typedef {{at: number, received: number, lost: number, frames: number, energy: number}} Sample
 */

/**
 * Reads the client's receiving connections' stats every STATS_INTERVAL_MS and reports
 * each participant's ParticipantReport (by participant id) to `onreport`.
 */
export class StatsWatcher {
  /**
   * @param {SwitchboardClient} client
   * @param {(reports: Map<string, ParticipantReport>) => void} onreport
   */
  constructor(client, onreport) {
    this.client = client;
    this.onreport = onreport;
    /** @type {Map<string, Sample>} */
    this.previous = new Map();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.timer = undefined;
    this.busy = false;
  }

  start() {
    this.timer ??= setInterval(() => { void this.poll(); }, STATS_INTERVAL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the stats once; a reading still running is not overlapped. */
  async poll() {
    if (this.busy) return;
    this.busy = true;
    try {
      /** @type {Map<string, ParticipantReport>} */
      const reports = new Map();
      /** @type {Map<string, Sample>} this reading's samples: streams gone since are forgotten */
      const samples = new Map();
      for (const { pc, tracks } of this.connections()) {
        if (pc.connectionState === 'closed') continue;
        const stats = await pc.getStats();
        for (const [participant, report] of this.measure(stats, tracks, samples)) reports.set(participant, report);
      }
      this.previous = samples;
      if (this.timer !== undefined) this.onreport(reports);
    } catch (err) {
      console.debug('switchboard: stats reading failed', err);
    } finally {
      this.busy = false;
    }
  }

  /**
   * The connections that receive media, with the tracks each carries.
   * @private
   * @returns {Array<{pc: RTCPeerConnection, tracks: Array<{mid: string, participant: string, kind: string}>}>}
   */
  connections() {
    const { client } = this;
    if (client.mesh) return [...client.mesh.peers.values()].map((peer) => ({ pc: peer.pc, tracks: peer.remoteTracks() }));
    const pc = client.subscriberConnection;
    return pc ? [{ pc, tracks: client.remoteTracks() }] : [];
  }

  /**
   * One connection's reports, by participant.
   * @private
   * @param {RTCStatsReport} stats
   * @param {Array<{mid: string, participant: string, kind: string}>} tracks
   * @param {Map<string, Sample>} samples  where this reading's samples go, by stats id
   * @returns {Map<string, ParticipantReport>}
   */
  measure(stats, tracks, samples) {
    const byMid = new Map(tracks.map((t) => [t.mid, t]));
    const rttMs = roundTripMs(stats);
    /** @type {Map<string, {received: number, lost: number, jitter: number, frames: number, seconds: number, video: boolean, audio: boolean, energy: number}>} */
    const sums = new Map();
    for (const t of tracks) sums.set(t.participant, { received: 0, lost: 0, jitter: 0, frames: 0, seconds: 0, video: false, audio: false, energy: 0 });
    stats.forEach((report) => {
      if (report.type !== 'inbound-rtp') return;
      const track = byMid.get(report.mid);
      const sum = track && sums.get(track.participant);
      if (!sum) return;
      const now = { at: report.timestamp, received: report.packetsReceived ?? 0, lost: report.packetsLost ?? 0, frames: report.framesDecoded ?? 0, energy: report.totalAudioEnergy ?? 0 };
      const was = this.previous.get(report.id);
      samples.set(report.id, now);
      if (!was) return;
      const received = now.received - was.received;
      sum.received += received;
      sum.lost += Math.max(0, now.lost - was.lost);
      sum.jitter = Math.max(sum.jitter, (report.jitter ?? 0) * 1000);
      if (report.kind === 'video' && received > 0) {
        sum.video = true;
        sum.frames += now.frames - was.frames;
        sum.seconds = Math.max(sum.seconds, (now.at - was.at) / 1000);
      }
      if (report.kind === 'audio') {
        sum.audio = true;
        sum.energy += now.energy - was.energy;
      }
    });
    /** @type {Map<string, ParticipantReport>} */
    const out = new Map();
    for (const [participant, s] of sums) {
      if (!s.audio && !s.video && s.received === 0) continue; // no interval measured yet
      /** @type {Measure} */
      const measure = {
        loss: s.received + s.lost > 0 ? s.lost / (s.received + s.lost) : 0,
        jitterMs: s.jitter,
        rttMs,
        fps: s.video && s.seconds > 0 ? s.frames / s.seconds : null,
        receiving: s.received > 0,
      };
      out.set(participant, { quality: classify(measure), measure, audioSilent: s.audio && s.energy < SILENCE_ENERGY });
    }
    return out;
  }
}

/**
 * The round-trip time of the connection's selected candidate pair, in ms (0 when not
 * known yet).
 * @param {RTCStatsReport} stats
 */
function roundTripMs(stats) {
  let rtt = 0;
  stats.forEach((report) => {
    if (report.type === 'candidate-pair' && report.nominated && report.state === 'succeeded' && typeof report.currentRoundTripTime === 'number') {
      rtt = Math.max(rtt, report.currentRoundTripTime * 1000);
    }
  });
  return rtt;
}
