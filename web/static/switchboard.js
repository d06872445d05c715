// @ts-check
/**
 * Switchboard protocol module: the browser side of docs/protocol.md.
 *
 * No DOM code lives here. A {@link SwitchboardClient} owns one signaling transport
 * (WebSocket by default; anything that implements {@link Transport}), a publisher
 * RTCPeerConnection (this client offers) and a subscriber RTCPeerConnection (the
 * server offers). Everything the application needs to know is reported through the
 * `on*` callback properties; `state` says where the session is.
 *
 * Errors caused by a call the application made (join, publish, ...) reject that call's
 * promise. Errors that belong to no call (the connection dropped, the server sent an
 * `error` for something it did on its own, a media connection failed) go to `onerror`.
 *
 * In a mesh room (docs/protocol.md, "Mesh rooms") media flows between the browsers:
 * the same client then holds one peer connection per remote peer (mesh.js) instead of
 * the publisher and subscriber, and carries their negotiation as relays. The
 * application's calls and callbacks are the same in both modes; `mode` says which.
 *
 * An auto room (docs/protocol.md, "Auto rooms"; join with `{mode: 'auto'}`) changes
 * between the two modes while the call goes on. On the server's `switch` the client
 * sets up the new mode's connections with its current local tracks and holds both
 * sets until the server's `switched`, then closes the old ones; `switching` says a
 * switch is under way and `onmodechange` reports both steps. Participants are kept by
 * id across the switch: the application sees no one leave or join because of it. A
 * new-path remote track reaches `ontrack` only once it plays (switch.js), so that an
 * application that shows each participant's latest track swaps without a gap; the
 * old path's tracks then go through `ontrackremoved` when their connections close.
 *
 * The pieces live in transport.js (signaling transports, errors), peers.js (the two
 * peer connections of an SFU room), mesh.js (those of a mesh room) and switch.js (the
 * pacing of an auto room's switch); this module re-exports what applications use.
 *
 * @module switchboard
 */

import { SSETransport, SwitchboardError, WebSocketTransport, closeError, sseUrl, transportFromQuery, webSocketUrl } from './transport.js';
import { PublisherConnection, SubscriberConnection } from './peers.js';
import { MeshConnections, meshGrants } from './mesh.js';
import { IceRestarter } from './resume.js';
import { ModeSwitch } from './switch.js';

export { SSETransport, SwitchboardError, WebSocketTransport, sseUrl, transportFromQuery, webSocketUrl };
import { parsePublishLayers, parseTrackLayer, setActiveLayers } from './simulcast.js';
/** @import { TrackLayer, TrackView } from './simulcast.js' */

/** @import { Transport, TransportFactory } from './transport.js' */
/** @import { PeerHost } from './peers.js' */
/** @import { MeshHost, MeshGrants } from './mesh.js' */
/** @import { SwitchHost } from './switch.js' */
/** @import { IceRestartHost } from './resume.js' */

/** Keepalive period; the server drops a session that sends nothing for 30 s. */
export const PING_INTERVAL_MS = 10_000;

/** Chat text limit of the protocol, in UTF-8 bytes. */
export const MAX_CHAT_BYTES = 4096;

/** Room names the server accepts: 1 to 64 letters, digits, `-`, `_` or `.`. */
export const ROOM_NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** Display names: 1 to 64 characters (code points). */
export const MAX_NAME_CHARS = 64;

/** Error codes with which the server ends a participant (docs/protocol.md). */
const REMOVAL_CODES = new Set(['replaced', 'removed', 'room-closed', 'moved']);

/** How long a request waits for its reply before it fails with code `timeout`. */
const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

/** @typedef {'camera' | 'microphone' | 'screen'} Source */
/** @typedef {'audio' | 'video'} Kind */
/** @typedef {'disconnected' | 'connecting' | 'joined' | 'closed'} ClientState */
/** @typedef {'publisher' | 'subscriber'} Target */
/** @typedef {'sfu' | 'mesh'} RoomMode */
/** @typedef {RoomMode | 'auto'} JoinMode  what a join may ask for */

/**
 * A published track as the server describes it.
 * @typedef {object} TrackInfo
 * @property {string} id          server-assigned track id
 * @property {string} participant id of the participant that publishes it
 * @property {Kind} kind
 * @property {Source} source
 * @property {boolean} [muted] whether an administrator muted it (track-muted): the
 *   server does not forward it meanwhile
 * @property {boolean} [selfMuted] whether its publisher muted its source (its client
 *   sent `mute`): it sends silence or black frames
 */

/**
 * A track named by a subscribe-offer, with the mid of the m-line that carries it.
 * @typedef {TrackInfo & {mid: string}} OfferedTrack
 */

/**
 * @typedef {object} ParticipantInfo
 * @property {string} id
 * @property {string} name
 * @property {TrackInfo[]} [tracks]
 * @property {unknown} [grants]  a mesh peer's, when its join token limits them (mesh.js meshGrants)
 */

/**
 * A participant as this client keeps it: the latest name and published tracks.
 * @typedef {object} Participant
 * @property {string} id
 * @property {string} name
 * @property {Map<string, TrackInfo>} tracks  by track id
 */

/**
 * @typedef {object} ChatMessage
 * @property {string} from   participant id, stamped by the server
 * @property {string} name   sender's display name, stamped by the server
 * @property {string} text
 * @property {string} time   RFC 3339 time, stamped by the server
 * @property {boolean} self  whether this client sent it
 */

/**
 * A remote track that the subscriber connection, or a mesh peer connection, receives.
 * @typedef {object} RemoteTrack
 * @property {string} mid
 * @property {TrackInfo} info
 * @property {MediaStreamTrack} track
 * @property {MediaStream} stream  shared by a participant's camera and microphone; a
 *   screen share has a stream of its own
 * @property {RTCRtpReceiver} receiver  what receives it, for its stats
 * @property {RoomMode} path  the kind of connection it arrives on
 */

/**
 * A local track published in every mode the client is in.
 * @typedef {object} PublishedTrack
 * @property {MediaStreamTrack} track
 * @property {Source} source
 * @property {MediaStream} stream
 */

/**
 * @typedef {object} ClientOptions
 * @property {string} [baseUrl]   URL of the page the server serves; defaults to the
 *   current location. Transport URLs are resolved against it.
 * @property {TransportFactory} [transport] defaults to a WebSocket at `<baseUrl>ws` that
 *   resumes its session when the connection drops
 * @property {number} [requestTimeoutMs]
 * @property {string} [token] a join token, for a server that requires one (see
 *   docs/auth.md); it is checked at `<baseUrl>v1/token` before connecting, so that a
 *   refusal comes with its reason (code `unauthorized`)
 */

/**
 * Asks the server whether it accepts token for room. A browser cannot read why a
 * WebSocket or EventSource was refused; this request can. Rejects with a
 * SwitchboardError: `unauthorized` with the server's reason, or `unreachable`.
 * @param {string} baseUrl
 * @param {string} room
 * @param {string} token
 */
async function checkToken(baseUrl, room, token) {
  const url = new URL('v1/token', baseUrl);
  url.search = '';
  url.hash = '';
  url.searchParams.set('room', room);
  let response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, cache: 'no-store' });
  } catch (err) {
    throw new SwitchboardError('unreachable', 'Cannot reach the server to check the join token.', { cause: err });
  }
  if (response.ok) return;
  /** @type {unknown} */
  let body = null;
  try { body = await response.json(); } catch { /* not JSON: no reason to show */ }
  const error = isRecord(body) && isRecord(body.error) ? body.error : {};
  const code = typeof error.code === 'string' ? error.code : `http-${response.status}`;
  const message = typeof error.message === 'string' ? error.message : `the server answered ${response.status}`;
  throw new SwitchboardError(code, message);
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * @param {unknown} value
 * @returns {value is TrackInfo}
 */
function isTrackInfo(value) {
  return isRecord(value) && typeof value.id === 'string' && typeof value.participant === 'string' &&
    (value.kind === 'audio' || value.kind === 'video') &&
    (value.source === 'camera' || value.source === 'microphone' || value.source === 'screen');
}

/**
 * @param {unknown} value
 * @returns {value is OfferedTrack}
 */
function isOfferedTrack(value) {
  return isTrackInfo(value) && typeof (/** @type {Record<string, unknown>} */ (value)).mid === 'string';
}

/**
 * @param {unknown} value
 * @returns {value is ParticipantInfo}
 */
function isParticipantInfo(value) {
  return isRecord(value) && typeof value.id === 'string' && typeof value.name === 'string';
}

/**
 * The source a track carries when the application does not say.
 * @param {MediaStreamTrack} track
 * @returns {Source}
 */
function defaultSource(track) {
  return track.kind === 'audio' ? 'microphone' : 'camera';
}


/**
 * @typedef {object} PendingRequest
 * @property {(reply: Record<string, unknown> & {type: string}) => void} resolve
 * @property {(err: unknown) => void} reject
 * @property {ReturnType<typeof setTimeout>} timer
 */

/**
 * One participant's session with a Switchboard server. Single use: once `state` is
 * `closed`, make a new client to join again.
 * @implements {PeerHost}
 * @implements {MeshHost}
 * @implements {IceRestartHost}
 * @implements {SwitchHost}
 */
export class SwitchboardClient {
  /** @param {ClientOptions} [options] */
  constructor(options = {}) {
    this.baseUrl = options.baseUrl ?? globalThis.location?.href ?? '';
    /** @type {TransportFactory} */
    this.transportFactory = options.transport ?? ((base, params) => new WebSocketTransport(webSocketUrl(base, params)));
    this.token = options.token ?? '';
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;

    /** @type {ClientState} */
    this.state = 'disconnected';
    /** room joined, as the server spelled it */
    this.room = '';
    /** @type {RoomMode} the room's mode, once joined; in an auto room the mode it is in or switching to */
    this.mode = 'sfu';
    /** whether the room is an auto room, which may change mode (see `switching`) */
    this.auto = false;
    /** @type {ModeSwitch | null} the auto room's switch under way: its `from`, `to` and `epoch` */
    this.switching = null;
    /** @type {MeshConnections | null} the peer connections of a mesh room */
    this.mesh = null;
    /** whether the publisher and subscriber connections are in use (SFU mode, or a switch from or to it) */
    this.sfuActive = false;
    /** @type {MeshGrants} what this participant may do in a mesh room, from its join */
    this.grants = meshGrants(undefined);
    /** @type {Map<MediaStreamTrack, PublishedTrack>} local tracks published, in every mode the client is in */
    this.published = new Map();
    /** @type {Map<string, Set<RoomMode>>} by participant id: the rooms of each mode it was last seen in */
    this.memberships = new Map();
    /** @type {{id: string, name: string} | null} this participant, once joined */
    this.self = null;
    /** @type {Map<string, Participant>} the other participants, by id */
    this.participants = new Map();
    /** @type {RTCIceServer[]} */
    this.iceServers = [];
    /** @type {{audio: boolean, video: boolean}} see setMuted */
    this.muted = { audio: false, video: false };

    /** @type {((state: ClientState) => void) | null} */
    this.onstate = null;
    /** @type {((participant: Participant) => void) | null} also called for everyone present at join */
    this.onparticipantjoined = null;
    /** @type {((participant: Participant) => void) | null} */
    this.onparticipantleft = null;
    /** @type {((info: TrackInfo) => void) | null} another participant published a track (its media comes with ontrack) */
    this.ontrackpublished = null;
    /** @type {((info: TrackInfo) => void) | null} */
    this.ontrackunpublished = null;
    /** @type {((participantId: string, source: Source, track: MediaStreamTrack, stream: MediaStream, info: TrackInfo) => void) | null} */
    this.ontrack = null;
    /** @type {((participantId: string, source: Source, track: MediaStreamTrack, stream: MediaStream, info: TrackInfo) => void) | null} */
    this.ontrackremoved = null;
    /** @type {((track: MediaStreamTrack, source: Source) => void) | null} a published local track ended (e.g. the browser's "stop sharing"); it has been unpublished */
    this.onlocaltrackended = null;
    /** @type {((message: ChatMessage) => void) | null} */
    this.onchat = null;
    /** @type {((layer: TrackLayer) => void) | null} what the server forwards of a remote track changed (SFU rooms) */
    this.ontracklayer = null;
    /** @type {((target: Target | string, state: RTCPeerConnectionState) => void) | null} `peer:<id>` in mesh rooms */
    this.onconnectionstate = null;
    /** @type {((error: SwitchboardError) => void) | null} */
    this.onerror = null;
    /** @type {((mode: RoomMode, switching: boolean) => void) | null} an auto room started switching to `mode` (switching true), or finished */
    this.onmodechange = null;
    /** @type {((deadline: Date | null) => void) | null} the server is shutting down: the call goes on until it ends or until `deadline` (null: none); no new joins */
    this.ondraining = null;
    /** @type {string[]} who speaks in the room now (participant ids, loudest first; may include this client): the latest active-speaker */
    this.speakers = [];
    /** @type {((speakers: string[]) => void) | null} the active speakers changed (see `speakers`) */
    this.onactivespeaker = null;
    /** @type {((info: TrackInfo) => void) | null} an administrator muted or unmuted a track (`info.muted`), this client's own included */
    this.ontrackmuted = null;
    /** @type {((reconnecting: boolean) => void) | null} see `reconnecting` */
    this.onreconnecting = null;
    /** Whether the client is restoring its connection to the call: its signaling
     * reconnects, or one of its media connections restarts ICE. `state` stays
     * `joined` meanwhile: the participant is still in the room. */
    this.reconnecting = false;
    /** whether the transport is reconnecting (its onreconnecting) */
    this.transportReconnecting = false;
    this.ice = new IceRestarter(this);

    /** @type {Transport | null} */
    this.transport = null;
    /** @type {Map<string, PendingRequest>} by request id */
    this.pendingRequests = new Map();
    this.nextRequestId = 1;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.pingTimer = undefined;
    this.publisher = new PublisherConnection(this);
    this.subscriber = new SubscriberConnection(this);
  }

  /** The publisher RTCPeerConnection, once something was published. */
  get publisherConnection() {
    return this.publisher.pc;
  }

  /** The subscriber RTCPeerConnection, once the server sent an offer. */
  get subscriberConnection() {
    return this.subscriber.pc;
  }

  /**
   * Tracks being received, with the participant and source each belongs to. During
   * an auto room's switch, those of both modes' connections.
   * @returns {Array<TrackInfo & {mid: string}>}
   */
  remoteTracks() {
    return this.receivedTracks().map((r) => ({ mid: r.mid, ...r.info }));
  }

  /**
   * Every remote track being received, on the connections of either mode.
   * @returns {RemoteTrack[]}
   */
  receivedTracks() {
    const mesh = this.mesh ? [...this.mesh.peers.values()].flatMap((peer) => [...peer.remote.values()]) : [];
    return [...this.subscriber.remote.values(), ...mesh];
  }

  /**
   * Local tracks being published.
   * @returns {Array<{track: MediaStreamTrack, source: Source}>}
   */
  localTracks() {
    return [...this.published.values()].map((l) => ({ track: l.track, source: l.source }));
  }

  /**
   * Connects and joins `room` as `name`. Resolves when the server has answered
   * `joined`; `onparticipantjoined` has then been called for everyone present.
   * `mode` asks for an SFU, a mesh or an auto room; without it the server decides
   * (SFU unless it is configured otherwise for the room). Joining a room that exists
   * in another mode fails with `mode-mismatch`.
   * @param {string} room
   * @param {string} name
   * @param {{mode?: JoinMode}} [options]
   */
  async join(room, name, options = {}) {
    if (this.state !== 'disconnected') {
      throw new SwitchboardError('bad-state', `join: the client is ${this.state}; make a new client to join again`);
    }
    if (!ROOM_NAME_PATTERN.test(room)) {
      throw new SwitchboardError('bad-request', 'Room names are 1 to 64 letters, digits, "-", "_" or ".".');
    }
    const nameLength = [...name].length;
    if (nameLength < 1 || nameLength > MAX_NAME_CHARS) {
      throw new SwitchboardError('bad-request', `Names are 1 to ${MAX_NAME_CHARS} characters.`);
    }
    this.setState('connecting');
    if (this.token) {
      try {
        await checkToken(this.baseUrl, room, this.token);
      } catch (err) {
        this.setState('closed');
        throw err;
      }
    }
    const transport = this.transportFactory(this.baseUrl, { room, token: this.token });
    this.transport = transport;
    transport.onmessage = (message) => this.handleMessage(message);
    transport.onclose = (info) => this.fail(closeError(info));
    transport.onreconnecting = (on) => {
      this.transportReconnecting = on;
      if (!on) this.ice.networkChanged();
      this.restartingChanged();
    };
    let reply;
    try {
      reply = await this.request({ type: 'join', room, name, ...(options.mode ? { mode: options.mode } : {}) });
      if (reply.type !== 'joined' || !isParticipantInfo(reply.participant)) {
        throw new SwitchboardError('protocol', `join was answered by "${reply.type}" without a participant`);
      }
    } catch (err) {
      this.shutdown(err);
      throw err;
    }
    this.room = typeof reply.room === 'string' ? reply.room : room;
    this.self = { id: reply.participant.id, name: reply.participant.name };
    this.iceServers = Array.isArray(reply.iceServers) ? /** @type {RTCIceServer[]} */ (reply.iceServers) : [];
    this.grants = meshGrants(reply.participant.grants);
    this.auto = reply.auto === true;
    this.mode = reply.mode === 'mesh' ? 'mesh' : 'sfu';
    if (this.mode === 'mesh') this.mesh = new MeshConnections(this, this.grants);
    else this.sfuActive = true;
    this.pingTimer = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.setState('joined');
    if (this.sfuActive) this.sendMuteState();
    const present = Array.isArray(reply.participants) ? reply.participants : [];
    for (const info of present) {
      if (isParticipantInfo(info)) this.addParticipant(info, this.mode, true);
    }
    return this.self;
  }

  /**
   * Sends local tracks. Resolves when the server has answered the offer that carries
   * them. Tracks of a kind muted with setMuted (camera, microphone) start muted.
   * @param {MediaStream | MediaStreamTrack | MediaStreamTrack[]} media
   * @param {Source} [source] what the tracks carry; by default `microphone` for audio
   *   and `camera` for video
   * @returns {Promise<void>}
   */
  async publish(media, source) {
    this.requireJoined('publish');
    const stream = media instanceof MediaStream ? media : new MediaStream();
    const tracks = media instanceof MediaStream ? media.getTracks()
      : media instanceof MediaStreamTrack ? [media] : media;
    /** @type {PublishedTrack[]} */
    const added = [];
    for (const track of tracks) {
      if (this.published.has(track)) continue;
      const trackSource = source ?? defaultSource(track);
      if (trackSource !== 'screen' && this.muted[/** @type {Kind} */ (track.kind)]) track.enabled = false;
      added.push({ track, source: trackSource, stream });
    }
    const refused = this.mesh ? this.publishMesh(this.mesh, added) : [];
    for (const local of added) {
      if (!refused.includes(local.track)) this.published.set(local.track, local);
    }
    if (refused.length > 0) {
      const kinds = [...new Set(refused.map((track) => track.kind))].join(' and ');
      throw new SwitchboardError('forbidden', `The join token does not allow sending ${kinds} in this room.`);
    }
    if (this.sfuActive) await this.publishSfu(added);
  }

  /**
   * Stops sending a track, or every track of a source. The tracks keep running;
   * stopping them is the caller's business.
   * @param {MediaStreamTrack | Source} what
   * @returns {Promise<void>}
   */
  async unpublish(what) {
    this.requireJoined('unpublish');
    const tracks = typeof what === 'string' ? this.tracksOf(what) : [what];
    for (const track of tracks) this.published.delete(track);
    this.mesh?.unpublish(tracks);
    if (!this.sfuActive) return;
    let changed = false;
    for (const track of tracks) changed = this.publisher.remove(track) || changed;
    if (changed) await this.publisher.negotiate();
  }

  /**
   * Mutes or unmutes the microphone (`audio`) or camera (`video`) by disabling the
   * local tracks: the connection stays up and sends silence or black frames.
   * Screen shares are not affected.
   * @param {Kind} kind
   * @param {boolean} muted
   */
  setMuted(kind, muted) {
    this.muted[kind] = muted;
    const source = kind === 'audio' ? 'microphone' : 'camera';
    for (const track of this.tracksOf(source)) track.enabled = !muted;
    // In an SFU room the server tells the others (track-muted, selfMuted).
    if (this.sfuActive) this.sendQuietly({ type: 'mute', source, muted });
  }

  /**
   * Tells the SFU side which sources are muted: when it starts (after a switch from
   * mesh; the server keeps the state for tracks published later).
   * @private
   */
  sendMuteState() {
    if (this.muted.audio) this.sendQuietly({ type: 'mute', source: 'microphone', muted: true });
    if (this.muted.video) this.sendQuietly({ type: 'mute', source: 'camera', muted: true });
  }

  /**
   * Sends `newTrack` in place of the published `oldTrack` (another camera or
   * microphone), on the same transceivers: no renegotiation, the others keep their
   * tile and their decoder. `newTrack` takes over the source and, for a camera or
   * microphone, the mute state (see setMuted). Both tracks are left running.
   * @param {MediaStreamTrack} oldTrack
   * @param {MediaStreamTrack} newTrack  of the same kind
   * @returns {Promise<boolean>} whether `oldTrack` was published (else nothing changed)
   */
  async replaceTrack(oldTrack, newTrack) {
    this.requireJoined('replaceTrack');
    if (oldTrack.kind !== newTrack.kind) {
      throw new SwitchboardError('bad-request', `replaceTrack: a ${oldTrack.kind} track cannot be replaced by a ${newTrack.kind} track`);
    }
    const local = this.published.get(oldTrack);
    if (!local || this.published.has(newTrack)) return false;
    if (local.source !== 'screen') newTrack.enabled = !this.muted[/** @type {Kind} */ (newTrack.kind)];
    this.published.delete(oldTrack);
    this.published.set(newTrack, { ...local, track: newTrack });
    // During an auto room's switch both the mesh and the SFU side send it.
    await Promise.all([
      this.mesh?.replace(oldTrack, newTrack),
      this.sfuActive ? this.publisher.replace(oldTrack, newTrack) : undefined,
    ]);
    return true;
  }

  /**
   * Local tracks published as `source`.
   * @param {Source} source
   */
  tracksOf(source) {
    return [...this.published.values()].filter((l) => l.source === source).map((l) => l.track);
  }

  /**
   * Tells the server how a remote video track is shown (`track-view`), so that it
   * forwards a layer that fits: the tile's size in device pixels, and whether it can
   * be seen (nothing is forwarded while not). Only SFU rooms have layers; elsewhere,
   * and once the session is closing, it does nothing. Callers debounce (views.js).
   * @param {string} trackId
   * @param {TrackView} view
   */
  viewTrack(trackId, view) {
    if (this.mesh || this.state !== 'joined') return;
    this.sendQuietly({ type: 'track-view', track: trackId, width: view.width, height: view.height, visible: view.visible });
  }

  /**
   * Sends a chat message to the room; it comes back through onchat like everyone's.
   * @param {string} text
   */
  sendChat(text) {
    this.requireJoined('sendChat');
    const bytes = new TextEncoder().encode(text).length;
    if (bytes === 0) throw new SwitchboardError('bad-request', 'A chat message cannot be empty.');
    if (bytes > MAX_CHAT_BYTES) {
      throw new SwitchboardError('bad-request', `A chat message is at most ${MAX_CHAT_BYTES} bytes; this one has ${bytes}.`);
    }
    this.send({ type: 'chat', text });
  }

  /** Leaves the room and closes everything. Local tracks are left running. */
  leave() {
    if (this.state === 'closed' || this.state === 'disconnected') {
      this.setState('closed');
      return;
    }
    this.sendQuietly({ type: 'leave' });
    this.shutdown(new SwitchboardError('closed', 'left the room'));
  }

  // ---- internals used by the connection objects ----

  /**
   * Sends a request with a fresh id and resolves with the reply that carries it back.
   * An `error` reply rejects with its code.
   * @param {Record<string, unknown> & {type: string}} message
   * @returns {Promise<Record<string, unknown> & {type: string}>}
   */
  request(message) {
    const id = String(this.nextRequestId++);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingRequests.delete(id);
        reject(new SwitchboardError('timeout', `${message.type}: no reply from the server within ${this.requestTimeoutMs / 1000} s`));
      }, this.requestTimeoutMs);
      this.pendingRequests.set(id, { resolve, reject, timer });
      try {
        this.send({ ...message, id });
      } catch (err) {
        clearTimeout(timer);
        this.pendingRequests.delete(id);
        reject(err);
      }
    });
  }

  /**
   * Sends a message; throws when there is no open session.
   * @param {object} message
   */
  send(message) {
    if (!this.transport || this.state === 'closed') {
      throw new SwitchboardError('closed', 'not connected to the server');
    }
    this.transport.send(message);
  }

  /**
   * Sends a message if the session is still up; a message for a session that is
   * closing is dropped.
   * @param {object} message
   */
  sendQuietly(message) {
    if (!this.transport || this.state === 'closed') return;
    try {
      this.transport.send(message);
    } catch (err) {
      console.warn('switchboard: dropped a message for a closed connection', err);
    }
  }

  /**
   * Sends a relay to another peer of a mesh room, if the session is still up. The
   * server stamps it with this client's id.
   * @param {string} to
   * @param {object} data  a JSON object, at most 64 KiB encoded
   */
  relay(to, data) {
    this.sendQuietly({ type: 'relay', to, data });
  }

  /**
   * Reports an error that belongs to no call of the application.
   * @param {SwitchboardError} err
   */
  report(err) {
    if (this.onerror) this.onerror(err);
    else console.error('switchboard:', err);
  }

  /**
   * @param {Target | string} target
   * @param {RTCPeerConnectionState} state
   */
  peerStateChanged(target, state) {
    this.onconnectionstate?.(target, state);
    if (this.state === 'joined' && (target === 'publisher' || target === 'subscriber')) this.ice.changed(target, state);
    if (state === 'failed' && this.state === 'joined') {
      const which = target === 'publisher' ? 'sending' : target === 'subscriber' ? 'receiving' : 'peer-to-peer';
      this.report(new SwitchboardError('ice-failed', `The ${which} media connection failed; the network may block WebRTC.`));
    }
  }

  /** @param {RemoteTrack} remote */
  remoteTrackAdded(remote) {
    if (this.switching && remote.path === this.switching.to && this.switching.hold(remote)) return;
    this.reveal(remote);
  }

  /**
   * Hands a remote track to the application.
   * @param {RemoteTrack} remote
   */
  reveal(remote) {
    this.ontrack?.(remote.info.participant, remote.info.source, remote.track, remote.stream, remote.info);
  }

  /** @param {RemoteTrack} remote */
  remoteTrackRemoved(remote) {
    if (this.switching?.drop(remote)) return; // held back: the application never had it
    this.ontrackremoved?.(remote.info.participant, remote.info.source, remote.track, remote.stream, remote.info);
  }

  /** The other participants in the call, by id. */
  participantIds() {
    return this.participants.keys();
  }

  /**
   * This side of a switch is done: the new mode's media plays, or the wait gave up.
   * @param {number} epoch
   */
  sendSwitched(epoch) {
    this.sendQuietly({ type: 'switched', epoch });
  }

  /**
   * A published local track ended on its own: unpublish it and tell the application.
   * @param {MediaStreamTrack} track
   * @param {Source} source
   */
  localTrackEnded(track, source) {
    // During a switch both modes' connections listen: the first one reports it.
    if (this.state !== 'joined' || !this.published.has(track)) return;
    this.unpublish(track).catch((err) => this.report(err instanceof SwitchboardError ? err
      : new SwitchboardError('negotiation-failed', String(err), { cause: err })));
    this.onlocaltrackended?.(track, source);
  }

  /** Recomputes `reconnecting` and tells the application when it changed. */
  restartingChanged() {
    const now = this.state === 'joined' && (this.transportReconnecting || this.ice.restarting());
    if (now === this.reconnecting) return;
    this.reconnecting = now;
    this.onreconnecting?.(now);
  }

  // ---- private ----

  /**
   * @private
   * @param {ClientState} state
   */
  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onstate?.(state);
  }

  /**
   * @private
   * @param {string} what
   */
  requireJoined(what) {
    if (this.state !== 'joined') throw new SwitchboardError('bad-state', `${what}: the client is ${this.state}, not joined`);
  }

  /**
   * Ends the session because of `err`, which nobody asked for.
   * @private
   * @param {SwitchboardError} err
   */
  fail(err) {
    if (this.state === 'closed') return;
    const wasJoined = this.state === 'joined';
    this.shutdown(err);
    if (wasJoined) this.report(err);
  }

  /**
   * Closes the transport and both peer connections; rejects waiting requests with
   * `err`. Leaves `state` at `closed`.
   * @private
   * @param {unknown} err
   */
  shutdown(err) {
    clearInterval(this.pingTimer);
    const transport = this.transport;
    if (transport) {
      transport.onmessage = null;
      transport.onclose = null;
      transport.close();
    }
    for (const pending of this.pendingRequests.values()) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
    this.pendingRequests.clear();
    this.ice.close();
    this.switching?.cancel();
    this.switching = null;
    this.publisher.close();
    this.subscriber.close();
    this.mesh?.close();
    this.sfuActive = false;
    this.setState('closed');
  }

  /** @private */
  ping() {
    this.request({ type: 'ping' }).catch((err) => {
      if (err instanceof SwitchboardError && err.code === 'timeout') {
        // A transport that can resume takes the connection for dead and reconnects.
        if (this.transport?.drop) this.transport.drop();
        else this.fail(new SwitchboardError('connection-lost', 'The server stopped answering.'));
      }
    });
  }

  /**
   * The dispatcher: one arm per server message type.
   * @private
   * @param {unknown} message
   */
  handleMessage(message) {
    if (!isRecord(message) || typeof message.type !== 'string') {
      console.warn('switchboard: ignoring a message without a type', message);
      return;
    }
    const m = /** @type {Record<string, unknown> & {type: string}} */ (message);
    if (typeof m.re === 'string' && this.resolveRequest(m.re, m)) return;
    switch (m.type) {
      case 'participant-joined': return this.handleParticipantJoined(m);
      case 'participant-left': return this.handleParticipantLeft(m);
      case 'track-published': return this.handleTrackPublished(m);
      case 'track-unpublished': return this.handleTrackUnpublished(m);
      case 'subscribe-offer': return this.handleSubscribeOffer(m);
      case 'track-layer': return this.handleTrackLayer(m);
      case 'publish-layers': return this.handlePublishLayers(m);
      case 'candidate': return this.handleCandidate(m);
      case 'chat': return this.handleChat(m);
      case 'relay': return this.handleRelay(m);
      case 'error': return this.handleError(m);
      case 'draining': return this.handleDraining(m);
      case 'active-speaker': return this.handleActiveSpeaker(m);
      case 'track-muted': return this.handleTrackMuted(m);
      case 'switch': return this.handleSwitch(m);
      case 'switched': return this.handleSwitched(m);
      case 'pong': return; // a late pong, after its request timed out
      default: console.debug('switchboard: ignoring message of unknown type', m.type);
    }
  }

  /**
   * @private
   * @param {string} re
   * @param {Record<string, unknown> & {type: string}} m
   * @returns {boolean} whether `re` named a waiting request
   */
  resolveRequest(re, m) {
    const pending = this.pendingRequests.get(re);
    if (!pending) return false;
    this.pendingRequests.delete(re);
    clearTimeout(pending.timer);
    if (m.type === 'error') pending.reject(this.errorFrom(m));
    else pending.resolve(m);
    return true;
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  errorFrom(m) {
    const code = typeof m.code === 'string' ? m.code : 'internal';
    const text = typeof m.message === 'string' ? m.message : 'the server reported an error';
    return new SwitchboardError(code, text, { re: typeof m.re === 'string' ? m.re : undefined });
  }

  /**
   * A participant is in the room of mode `room`. One already known (an auto room's
   * switch shows everyone again, in the new mode's room) is merged by id: its
   * tracks are added, and the application hears nothing new.
   * @private
   * @param {ParticipantInfo} info
   * @param {RoomMode} room
   * @param {boolean} [present] whether the participant was in that room when this client entered it
   */
  addParticipant(info, room, present = false) {
    if (info.id === this.self?.id) return;
    let participant = this.participants.get(info.id);
    const known = participant !== undefined;
    participant ??= { id: info.id, name: info.name, tracks: new Map() };
    for (const track of info.tracks ?? []) {
      if (isTrackInfo(track)) participant.tracks.set(track.id, track);
    }
    this.participants.set(info.id, participant);
    const rooms = this.memberships.get(info.id) ?? new Set();
    rooms.add(room);
    this.memberships.set(info.id, rooms);
    if (!known) this.onparticipantjoined?.(participant);
    if (room === 'mesh') this.mesh?.peerJoined(info.id, { present, grants: meshGrants(info.grants) });
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleParticipantJoined(m) {
    // During a switch the only room that takes newcomers is the new mode's.
    if (isParticipantInfo(m.participant)) this.addParticipant(m.participant, this.mode);
  }

  /**
   * A participant left one room. During a switch it may be in both modes' rooms:
   * one that leaves the call leaves both (and is gone at the second message), one
   * that only leaves the old mode's room stays in the call.
   * @private
   * @param {Record<string, unknown>} m
   */
  handleParticipantLeft(m) {
    if (!isParticipantInfo(m.participant)) return;
    const rooms = this.memberships.get(m.participant.id);
    if (rooms && rooms.size > 1) {
      rooms.delete(this.switching?.from ?? (this.mode === 'sfu' ? 'mesh' : 'sfu'));
      return;
    }
    this.removeParticipant(m.participant.id);
  }

  /**
   * @private
   * @param {string} id
   */
  removeParticipant(id) {
    const participant = this.participants.get(id);
    if (!participant) return;
    this.participants.delete(id);
    this.memberships.delete(id);
    this.mesh?.peerLeft(id);
    this.onparticipantleft?.(participant);
  }

  /**
   * Tracks to be sent in mesh mode too. Returns those the grants refuse.
   * @private
   * @param {MeshConnections} mesh
   * @param {PublishedTrack[]} tracks
   * @returns {MediaStreamTrack[]}
   */
  publishMesh(mesh, tracks) {
    /** @type {MediaStreamTrack[]} */
    const refused = [];
    for (const stream of new Set(tracks.map((l) => l.stream))) {
      const sources = new Map(tracks.filter((l) => l.stream === stream).map((l) => [l.track, l.source]));
      refused.push(...mesh.publish([...sources.keys()], (track) => sources.get(track) ?? defaultSource(track), stream));
    }
    return refused;
  }

  /**
   * Tracks to be sent on the publisher connection too. Resolves when the server has
   * answered the offer that carries them.
   * @private
   * @param {PublishedTrack[]} tracks
   */
  async publishSfu(tracks) {
    let changed = false;
    for (const local of tracks) changed = (await this.publisher.add(local.track, local.source, local.stream)) || changed;
    if (changed) await this.publisher.negotiate();
  }

  /**
   * The server moved this session into the other mode's room of its auto room too:
   * set up that mode's connections with the tracks published now.
   * @private
   * @param {Record<string, unknown>} m
   */
  handleSwitch(m) {
    if (this.state !== 'joined') return;
    const to = m.mode;
    if ((to !== 'sfu' && to !== 'mesh') || typeof m.epoch !== 'number' || !Array.isArray(m.participants)) {
      this.report(new SwitchboardError('protocol', 'a switch without a mode, an epoch or participants'));
      return;
    }
    if (this.switching || to === this.mode) {
      console.warn(`switchboard: ignoring switch ${m.epoch} to ${to}: the client is ${this.switching ? 'switching' : `in ${to} mode`}`);
      return;
    }
    this.switching = new ModeSwitch(this, this.mode, to, m.epoch);
    this.mode = to;
    if (to === 'mesh') {
      this.mesh = new MeshConnections(this, this.grants);
      this.publishMesh(this.mesh, [...this.published.values()]);
    } else {
      this.sfuActive = true;
      this.sendMuteState();
      this.publishSfu([...this.published.values()]).catch((err) => {
        if (this.sfuActive && this.state === 'joined') {
          this.report(err instanceof SwitchboardError ? err : new SwitchboardError('negotiation-failed', String(err), { cause: err }));
        }
      });
    }
    for (const info of m.participants) {
      if (isParticipantInfo(info)) this.addParticipant(info, to, true);
    }
    this.onmodechange?.(to, true);
  }

  /**
   * The server ended a switch: every participant left the old mode's room (quietly),
   * so its connections close.
   * @private
   * @param {Record<string, unknown>} m
   */
  handleSwitched(m) {
    const current = this.switching;
    if (!current || m.epoch !== current.epoch) return;
    current.finish();
    this.switching = null;
    for (const [id, rooms] of [...this.memberships]) {
      rooms.delete(current.from);
      if (rooms.size === 0) this.removeParticipant(id);
    }
    if (current.from === 'mesh') {
      const mesh = this.mesh;
      this.mesh = null;
      mesh?.close();
    } else {
      // The SFU room's tracks went with it (quietly: no track-unpublished).
      for (const participant of this.participants.values()) participant.tracks.clear();
      this.sfuActive = false;
      this.subscriber.closeReporting();
      this.publisher.close();
    }
    this.onmodechange?.(this.mode, false);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleTrackPublished(m) {
    if (!isTrackInfo(m.track)) return;
    this.participants.get(m.track.participant)?.tracks.set(m.track.id, m.track);
    this.ontrackpublished?.(m.track);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleTrackUnpublished(m) {
    if (!isTrackInfo(m.track)) return;
    this.participants.get(m.track.participant)?.tracks.delete(m.track.id);
    this.ontrackunpublished?.(m.track);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleSubscribeOffer(m) {
    if (this.state !== 'joined' || !this.sfuActive) return;
    if (typeof m.sdp !== 'string') {
      this.report(new SwitchboardError('protocol', 'subscribe-offer without an sdp'));
      return;
    }
    const list = Array.isArray(m.tracks) ? m.tracks : [];
    /** @type {OfferedTrack[]} */
    const tracks = list.filter(isOfferedTrack);
    this.subscriber.handleOffer(m.sdp, tracks);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleCandidate(m) {
    if (!isRecord(m.candidate)) return;
    const candidate = /** @type {RTCIceCandidateInit} */ (m.candidate);
    if (!this.sfuActive) return; // late, for connections closed by a switch
    if (m.target === 'publisher') this.publisher.addRemoteCandidate(candidate);
    else if (m.target === 'subscriber') this.subscriber.addRemoteCandidate(candidate);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleTrackLayer(m) {
    const layer = parseTrackLayer(m);
    if (layer) this.ontracklayer?.(layer);
  }

  /**
   * Turns this client's simulcast layers on or off as the server says (no
   * renegotiation).
   * @private
   * @param {Record<string, unknown>} m
   */
  handlePublishLayers(m) {
    const layers = parsePublishLayers(m);
    const sender = layers && this.publisher.layeredSender(layers.mid);
    if (!layers || !sender) return;
    setActiveLayers(sender, layers.active).catch((err) => {
      if (this.state === 'joined') console.warn('switchboard: could not change the layers sent', err);
    });
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleChat(m) {
    if (typeof m.text !== 'string' || typeof m.from !== 'string') return;
    this.onchat?.({
      from: m.from,
      name: typeof m.name === 'string' ? m.name : '',
      text: m.text,
      time: typeof m.time === 'string' ? m.time : new Date().toISOString(),
      self: m.from === this.self?.id,
    });
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleDraining(m) {
    const deadline = typeof m.deadline === 'string' ? new Date(m.deadline) : null;
    this.ondraining?.(deadline && !Number.isNaN(deadline.getTime()) ? deadline : null);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleActiveSpeaker(m) {
    if (!Array.isArray(m.participants)) return;
    this.speakers = m.participants.filter((id) => typeof id === 'string');
    this.onactivespeaker?.(this.speakers);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleTrackMuted(m) {
    if (!isTrackInfo(m.track)) return;
    const info = { ...m.track, muted: m.track.muted === true, selfMuted: m.track.selfMuted === true };
    this.participants.get(info.participant)?.tracks.set(info.id, info);
    this.ontrackmuted?.(info);
  }

  /**
   * A mesh peer's relay; `from` is stamped by the server.
   * @private
   * @param {Record<string, unknown>} m
   */
  handleRelay(m) {
    if (this.state !== 'joined' || typeof m.from !== 'string') return;
    this.mesh?.handleRelay(m.from, m.data);
  }

  /**
   * @private
   * @param {Record<string, unknown>} m
   */
  handleError(m) {
    const err = this.errorFrom(m);
    // The server took this participant out of the room and closes the connection
    // next: end here, so that the close is not reported as a lost connection.
    if (REMOVAL_CODES.has(err.code)) this.fail(err);
    else this.report(err);
  }
}

