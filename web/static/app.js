// @ts-check
/**
 * The Switchboard page: wires the protocol module (switchboard.js) to index.html.
 *
 * Remote tiles show what the server forwards of their video (views.js), also for
 * tests: `.tile[data-layer=q|h|f]` (the simulcast layer; "" for a video of one layer),
 * or while nothing is, `.tile[data-paused-reason=bandwidth|hidden|muted]`; the badge
 * is `.tile .layer-badge`.
 *
 * Hooks for tests and automation: the current client is `window.switchboard`; each
 * remote tile is `.tile.remote[data-participant=<id>][data-source=camera|screen]` with
 * the name in `.name`; local tiles are `.tile.local[data-local=camera|screen]`; the
 * connection state is `#state[data-state]`, the room's mode `#state[data-mode]`
 * (`sfu` or `mesh`, once joined) with `#state[data-switching]` (the switch's epoch)
 * while an auto room changes mode; chat is `#chat-log`; user-facing messages are
 * `.notice[data-code]` inside `#messages`.
 *
 * The call view (meeting.js, grid.js, quality.js, devices.js): `#tiles[data-cols]` is
 * the grid's column count; `.tile[data-speaking]` marks an active speaker and
 * `.tile[data-featured]` the latest loudest other one (placed first); a remote camera
 * tile has `[data-muted-audio]` / `[data-muted-video]` (`server`, `track` or `silent`)
 * while muted, and `.quality[data-quality=good|fair|poor]`; `#camera-select` and
 * `#mic-select` pick the devices in use, switched without renegotiation.
 *
 * URL parameters: `room`, `name`, and `autojoin=1` to join at once (with a random name
 * when `name` is missing); `mode=mesh` to start or join a mesh room (media directly
 * between the browsers), `mode=auto` for an auto room (mesh while small, SFU when it
 * grows), `transport=sse` to signal over Server-Sent Events; `token`, a join token for
 * a server that requires one.
 *
 * When an auto room changes mode, a remote tile stays the same element: the client
 * hands over a participant's new-path track once it plays, and the tile's media
 * element then takes it in place of the old one.
 */

import { CAMERA_CONSTRAINTS } from './simulcast.js';
import { TrackViews } from './views.js';
/** @import { TrackInfo } from './switchboard.js' */
import {
  SwitchboardClient, SwitchboardError, transportFromQuery, ROOM_NAME_PATTERN, MAX_NAME_CHARS, MAX_CHAT_BYTES,
} from './switchboard.js';
import { MeetingView } from './meeting.js';
import { DevicePicker } from './devices.js';

/** @import { ChatMessage, ClientState, JoinMode, Source } from './switchboard.js' */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {{new (): T, prototype: T}} type
 * @returns {T}
 */
function byId(id, type) {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`index.html has no #${id} of the expected kind`);
  return element;
}

const ui = {
  state: byId('state', HTMLElement),
  roomLabel: byId('room-label', HTMLElement),
  messages: byId('messages', HTMLElement),
  joinView: byId('join-view', HTMLElement),
  joinForm: byId('join-form', HTMLFormElement),
  room: byId('room', HTMLInputElement),
  name: byId('name', HTMLInputElement),
  joinButton: byId('join-button', HTMLButtonElement),
  shareLink: byId('share-link', HTMLAnchorElement),
  copyLink: byId('copy-link', HTMLButtonElement),
  callView: byId('call-view', HTMLElement),
  tiles: byId('tiles', HTMLElement),
  participants: byId('participants', HTMLUListElement),
  participantCount: byId('participant-count', HTMLElement),
  chatLog: byId('chat-log', HTMLOListElement),
  chatForm: byId('chat-form', HTMLFormElement),
  chatInput: byId('chat-input', HTMLInputElement),
  mic: byId('btn-mic', HTMLButtonElement),
  camera: byId('btn-camera', HTMLButtonElement),
  screen: byId('btn-screen', HTMLButtonElement),
  leave: byId('btn-leave', HTMLButtonElement),
  cameraSelect: byId('camera-select', HTMLSelectElement),
  micSelect: byId('mic-select', HTMLSelectElement),
};

/** Texts of the connection indicator. */
const STATE_TEXT = /** @type {const} */ ({
  disconnected: 'Not connected',
  connecting: 'Connecting…',
  joined: 'Connected',
  closed: 'Disconnected',
});

/**
 * The call in progress, if any.
 * @typedef {object} Call
 * @property {SwitchboardClient} client
 * @property {MediaStream | null} camera  local camera and microphone
 * @property {MediaStream | null} screen  local screen share
 * @property {Map<string, RTCPeerConnectionState>} media  state of each peer connection
 * @property {TrackViews} views  how the remote videos are shown, told to the server
 */

/** @type {Call | null} */
let call = null;
/** The join token from the address (`?token=`), kept for joining again once the address no longer shows it. */
let joinToken = '';

/** Remote tiles by `<participant id>/<camera|screen>`. */
/** @type {Map<string, Tile>} */
const remoteTiles = new Map();

/** Grid, speakers, mute and quality of the tiles. */
const meeting = new MeetingView(ui.tiles);
/** Device switches run one after the other: each replaces the track the one before put in. */
let deviceSwitches = Promise.resolve();
/** The camera and microphone pickers. */
const devices = new DevicePicker({ audio: ui.micSelect, video: ui.cameraSelect }, (kind, id) => {
  deviceSwitches = deviceSwitches.then(() => switchDevice(kind, id)).catch(showError);
});

// ---------------------------------------------------------------------------
// Small DOM helpers

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {string} [className]
 * @param {string} [text]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, className, text) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  if (text !== undefined) element.textContent = text;
  return element;
}

/** @param {string} name */
function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0], words[words.length - 1]].map((w) => [...w][0]) : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}

/** A random display name for people who join by link without one. */
function randomName() {
  const n = crypto.getRandomValues(new Uint16Array(1))[0] % 10000;
  return `Guest ${String(n).padStart(4, '0')}`;
}

/**
 * The room mode the page's address asks for (`?mode=mesh`, `?mode=auto`), if any.
 * @returns {JoinMode | undefined}
 */
function requestedMode() {
  const mode = new URLSearchParams(location.search).get('mode');
  return mode === 'mesh' || mode === 'sfu' || mode === 'auto' ? mode : undefined;
}

/**
 * The link that brings others into room; mesh and auto rooms keep their `mode` in it.
 * @param {string} room
 * @param {JoinMode | undefined} [mode]
 */
function shareUrl(room, mode = requestedMode()) {
  const url = new URL(location.pathname, location.origin);
  if (room) url.searchParams.set('room', room);
  if (room && (mode === 'mesh' || mode === 'auto')) url.searchParams.set('mode', mode);
  return url.href;
}

// ---------------------------------------------------------------------------
// Notices: the messages people read

/**
 * Shows a message; a newer one with the same code replaces it.
 * @param {string} code  stable identifier, also `data-code` for tests
 * @param {string} text
 * @param {'error' | 'warning' | 'info'} [level]
 * @param {{label: string, run: () => void}} [action]
 */
function notify(code, text, level = 'error', action) {
  clearNotice(code);
  const notice = el('div', `notice ${level}`);
  notice.dataset.code = code;
  notice.setAttribute('role', level === 'error' ? 'alert' : 'status');
  notice.append(el('span', 'notice-text', text));
  if (action) {
    const button = el('button', 'small', action.label);
    button.type = 'button';
    button.addEventListener('click', () => { clearNotice(code); action.run(); });
    notice.append(button);
  }
  const dismiss = el('button', 'dismiss', '×');
  dismiss.type = 'button';
  dismiss.setAttribute('aria-label', 'Dismiss');
  dismiss.addEventListener('click', () => notice.remove());
  notice.append(dismiss);
  ui.messages.append(notice);
}

/** @param {string} code */
function clearNotice(code) {
  for (const notice of ui.messages.querySelectorAll(`.notice[data-code="${CSS.escape(code)}"]`)) notice.remove();
}

/**
 * Puts an error from the client into words.
 * @param {unknown} err
 */
function showError(err) {
  if (!(err instanceof SwitchboardError)) {
    notify('error', `Something went wrong: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  switch (err.code) {
    case 'unreachable':
      notify('unreachable', 'Cannot reach the Switchboard server. Check that it is running and that this address is right, then try again.');
      return;
    case 'connection-lost':
      notify('connection-lost', `${err.message} Join again to continue.`);
      return;
    case 'timeout':
      notify('timeout', `The server did not answer in time (${err.message}).`);
      return;
    case 'ice-failed':
      notify('ice-failed', `${err.message} Audio and video may not get through.`);
      return;
    case 'mode-mismatch':
      notify('mode-mismatch', `${err.message}. Join it in its own mode: set "mode=mesh" or "mode=auto" in the link as the room has it, or leave "mode" out for an SFU room.`);
      return;
    case 'room-full':
      notify('room-full', 'This peer-to-peer room is full. Try again when someone leaves, or use a room without "mode=mesh".');
      return;
    case 'bad-request':
    case 'bad-state':
      notify(err.code, err.message, 'warning');
      return;
    case 'unauthorized':
      notify('unauthorized', `The server refused to let you join: ${err.message}.`);
      return;
    case 'forbidden':
      notify('forbidden', `Not allowed: ${err.message}.`, 'warning');
      return;
    case 'replaced':
      notify('replaced', 'You joined this room from another window or device, so this one has left.', 'info');
      return;
    case 'removed':
      notify('removed', 'An administrator removed you from the room.', 'info');
      return;
    case 'room-closed':
      notify('room-closed', 'An administrator closed the room.', 'info');
      return;
    case 'moved':
      notify('moved', 'The room moved to another server of the cluster: joining it again.', 'info');
      rejoinWhenEnded(call?.client ?? null);
      return;
    case 'room-full':
      notify(err.code, 'This room is full. Try again later, or pick another room.', 'warning');
      return;
    case 'draining':
      notify(err.code, 'The server is shutting down and takes no new calls. Try again in a moment.', 'warning');
      return;
    case 'too-many-rooms':
      notify(err.code, 'The server has as many rooms as it may hold. Try again later, or join a room that is open.', 'warning');
      return;
    case 'too-many-tracks':
      notify(err.code, 'You are sending as many tracks as the server allows: stop one before adding another.', 'warning');
      return;
    case 'rate-limited':
      notify(err.code, 'Too many requests at once: that one was not carried out. Wait a moment and try again.', 'warning');
      return;
    default:
      notify(`server-${err.code}`, `Server error: ${err.message} (${err.code})`);
  }
}

/**
 * Joins the room again, with the same name, once the call of client has ended: what
 * a `moved` room asks for (the same URL reaches the room where it lives now).
 * @param {SwitchboardClient | null} client
 */
function rejoinWhenEnded(client) {
  const room = new URLSearchParams(location.search).get('room') ?? ''; // the call's, see showCallView
  const name = rememberedName();
  if (!room || !name) return;
  const deadline = Date.now() + 5_000;
  const attempt = () => {
    if (call && call.client === client && Date.now() < deadline) {
      setTimeout(attempt, 100); // the closing call tears itself down first
      return;
    }
    if (!call) void joinRoom(room, name);
  };
  setTimeout(attempt, 100);
}

// ---------------------------------------------------------------------------
// Connection indicator

/** @param {ClientState} state */
function renderState(state) {
  const reconnecting = state === 'joined' && call !== null && call.client.reconnecting;
  ui.state.dataset.state = reconnecting ? 'reconnecting' : state;
  const client = call?.client;
  if (state === 'joined' && client) {
    ui.state.dataset.mode = client.mode;
    if (client.switching) ui.state.dataset.switching = String(client.switching.epoch);
    else delete ui.state.dataset.switching;
  } else {
    delete ui.state.dataset.mode;
    delete ui.state.dataset.switching;
  }
  /** @type {string} */
  let text = reconnecting ? 'Reconnecting…' : STATE_TEXT[state];
  const trouble = state === 'joined' && !reconnecting && call !== null &&
    [...call.media.values()].some((s) => s === 'disconnected' || s === 'failed');
  if (trouble) text = 'Connected · media interrupted';
  ui.state.textContent = text;
  if (trouble) ui.state.dataset.media = 'trouble';
  else delete ui.state.dataset.media;
}

// ---------------------------------------------------------------------------
// Tiles

/**
 * One video tile.
 * @typedef {object} Tile
 * @property {HTMLElement} root
 * @property {HTMLVideoElement} video
 * @property {HTMLAudioElement | null} audio
 * @property {HTMLElement} name
 * @property {HTMLElement} badges
 */

/**
 * @param {{name: string, source: 'camera' | 'screen', participant?: string}} options
 *   without `participant` the tile is a local one
 * @returns {Tile}
 */
function makeTile({ name, source, participant }) {
  const root = el('figure', `tile no-video ${participant ? 'remote' : 'local'}`);
  root.dataset.source = source;
  if (participant) root.dataset.participant = participant;
  else root.dataset.local = source;

  const video = el('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = true; // sound goes through the <audio> element, so video always autoplays
  root.append(video);

  let audio = null;
  if (participant && source === 'camera') {
    audio = el('audio');
    audio.autoplay = true;
    root.append(audio);
  }

  const avatar = el('div', 'avatar', initials(name));
  avatar.setAttribute('aria-hidden', 'true');
  const caption = el('figcaption');
  const label = el('span', 'name', source === 'screen' ? `${name} (screen)` : name);
  const badges = el('span', 'badges');
  caption.append(label, badges);
  root.append(avatar, caption);
  ui.tiles.append(root);
  return { root, video, audio, name: label, badges };
}

/**
 * @param {HTMLMediaElement} media
 * @param {MediaStreamTrack | null} track
 */
function attach(media, track) {
  media.srcObject = track ? new MediaStream([track]) : null;
  if (!track) return;
  media.play().catch((err) => {
    if (err instanceof DOMException && err.name === 'NotAllowedError' && media instanceof HTMLAudioElement) {
      notify('autoplay', 'Your browser blocked sound from starting on its own.', 'warning',
        { label: 'Enable sound', run: resumeAudio });
    }
  });
}

/** Starts every remote audio element after the browser refused to autoplay. */
function resumeAudio() {
  for (const tile of remoteTiles.values()) tile.audio?.play().catch(() => {});
}

/**
 * @param {HTMLMediaElement} media
 * @param {MediaStreamTrack} track
 */
function isShowing(media, track) {
  return media.srcObject instanceof MediaStream && media.srcObject.getTracks().includes(track);
}

/**
 * @param {string} participantId
 * @param {'camera' | 'screen'} source
 * @param {string} name
 */
function ensureRemoteTile(participantId, source, name) {
  const key = `${participantId}/${source}`;
  let tile = remoteTiles.get(key);
  if (!tile) {
    tile = makeTile({ name, source, participant: participantId });
    remoteTiles.set(key, tile);
    meeting.refresh();
  }
  return tile;
}

/**
 * @param {string} participantId
 * @param {'camera' | 'screen'} source
 */
function removeRemoteTile(participantId, source) {
  const key = `${participantId}/${source}`;
  const tile = remoteTiles.get(key);
  if (!tile) return;
  tile.video.srcObject = null;
  if (tile.audio) tile.audio.srcObject = null;
  tile.root.remove();
  remoteTiles.delete(key);
}

/** @type {Tile | null} */
let localCameraTile = null;
/** @type {Tile | null} */
let localScreenTile = null;

function renderLocalCamera() {
  if (!call) return;
  if (!localCameraTile) {
    localCameraTile = makeTile({ name: `${call.client.self?.name ?? 'You'} (you)`, source: 'camera' });
    ui.tiles.prepend(localCameraTile.root);
  }
  const video = call.camera?.getVideoTracks()[0] ?? null;
  if (video && !isShowing(localCameraTile.video, video)) attach(localCameraTile.video, video);
  const cameraOff = !video || call.client.muted.video;
  localCameraTile.root.classList.toggle('no-video', cameraOff);
  localCameraTile.badges.replaceChildren();
  const audio = call.camera?.getAudioTracks()[0];
  if (!audio) localCameraTile.badges.append(el('span', 'badge', 'no mic'));
  else if (call.client.muted.audio) localCameraTile.badges.append(el('span', 'badge', 'muted'));
}

function removeAllTiles() {
  for (const key of [...remoteTiles.keys()]) {
    const [participantId, source] = key.split('/');
    removeRemoteTile(participantId, source === 'screen' ? 'screen' : 'camera');
  }
  for (const tile of [localCameraTile, localScreenTile]) {
    if (!tile) continue;
    tile.video.srcObject = null;
    tile.root.remove();
  }
  localCameraTile = null;
  localScreenTile = null;
}

// ---------------------------------------------------------------------------
// Participants and chat

function renderParticipants() {
  if (!call) return;
  const { client } = call;
  const items = [];
  if (client.self) {
    const me = el('li', 'self', `${client.self.name} (you)`);
    me.dataset.participant = client.self.id;
    items.push(me);
  }
  const others = [...client.participants.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const p of others) {
    const item = el('li', undefined, p.name);
    item.dataset.participant = p.id;
    items.push(item);
  }
  ui.participants.replaceChildren(...items);
  ui.participantCount.textContent = `(${items.length})`;
}

/** @param {ChatMessage} message */
function appendChat(message) {
  const entry = el('li', `chat-entry${message.self ? ' self' : ''}`);
  entry.dataset.from = message.from;
  const when = new Date(message.time);
  const time = el('time', undefined, Number.isNaN(when.getTime()) ? '' : when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  time.dateTime = message.time;
  entry.append(el('span', 'chat-name', message.name || 'Someone'), time, el('p', 'chat-text', message.text));
  const atBottom = ui.chatLog.scrollHeight - ui.chatLog.scrollTop - ui.chatLog.clientHeight < 40;
  ui.chatLog.append(entry);
  if (atBottom || message.self) ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
}

// ---------------------------------------------------------------------------
// Local media

/**
 * Camera and microphone, or as much of them as the browser grants. Never throws:
 * without media the call goes on receive-only, and a notice says why.
 * @returns {Promise<MediaStream | null>}
 */
async function getLocalMedia() {
  if (!navigator.mediaDevices?.getUserMedia) {
    notify('media-unavailable', 'This browser does not allow camera and microphone here (the page needs HTTPS). You can still watch and listen.', 'warning');
    return null;
  }
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
  } catch (err) {
    const name = err instanceof DOMException ? err.name : '';
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      notify('media-denied', 'Camera and microphone access was denied. You joined receive-only: you can watch and listen, but others cannot see or hear you. Allow access in the browser and join again to send.', 'warning');
      return null;
    }
    // One of the two may be missing or busy: take what there is.
    const partial = await getOneKind();
    if (partial) {
      notify('media-partial', `Only your ${partial.getVideoTracks().length ? 'camera' : 'microphone'} is available (${describeMediaError(name)}).`, 'warning');
      return partial;
    }
    notify('media-unavailable', `No camera or microphone could be used (${describeMediaError(name)}). You joined receive-only.`, 'warning');
    return null;
  }
}

/** @returns {Promise<MediaStream | null>} */
async function getOneKind() {
  for (const constraints of [{ audio: true }, { video: true }]) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // try the next kind
    }
  }
  return null;
}

/** @param {string} name */
function describeMediaError(name) {
  switch (name) {
    case 'NotFoundError': return 'no device found';
    case 'NotReadableError': return 'the device is in use by another program';
    case 'OverconstrainedError': return 'the device cannot do what was asked';
    default: return name || 'unknown error';
  }
}

// ---------------------------------------------------------------------------
// Joining and leaving

/**
 * @param {string} room
 * @param {string} name
 */
async function joinRoom(room, name) {
  if (call) return;
  ui.messages.replaceChildren(); // what was said about an earlier attempt no longer holds
  ui.joinButton.disabled = true;
  rememberName(name);

  // ?transport=sse signals over Server-Sent Events instead of the WebSocket.
  const token = new URLSearchParams(location.search).get('token') ?? joinToken;
  joinToken = token;
  const client = new SwitchboardClient({ transport: transportFromQuery(location.search), token });
  window.switchboard = client;
  call = { client, camera: null, screen: null, media: new Map(), views: new TrackViews((id, view) => client.viewTrack(id, view)) };
  wireClient(client);
  renderState('connecting');

  const camera = await getLocalMedia();
  if (call?.client !== client) { camera?.getTracks().forEach((t) => t.stop()); return; }
  call.camera = camera;

  try {
    const mode = requestedMode();
    await client.join(room, name, mode ? { mode } : {});
  } catch (err) {
    showError(err);
    endCall();
    return;
  }
  showCallView(room);
  if (camera) {
    client.publish(camera).catch((err) => { if (client.state === 'joined') showError(err); });
  }
}

/** @param {SwitchboardClient} client */
function wireClient(client) {
  client.onstate = (state) => {
    if (call?.client !== client) return;
    renderState(state);
    if (state === 'closed') endCall();
  };
  // The call may already be torn down when its last error arrives: show it while
  // this is still the page's newest client.
  client.onerror = (err) => {
    if (window.switchboard !== client) return;
    if (err.code === 'cannot-resume' && client.self) {
      // Away longer than the server waits: the call has ended; join it again.
      const { room } = client;
      const { name } = client.self;
      notify('cannot-resume', 'The connection was away too long: joining the room again.', 'warning');
      setTimeout(() => void joinRoom(room, name), 0);
      return;
    }
    showError(err);
  };
  client.onreconnecting = () => { if (call?.client === client) renderState(client.state); };
  client.onparticipantjoined = (p) => {
    ensureRemoteTile(p.id, 'camera', p.name);
    renderParticipants();
  };
  client.onparticipantleft = (p) => {
    removeRemoteTile(p.id, 'camera');
    removeRemoteTile(p.id, 'screen');
    renderParticipants();
  };
  client.ontrack = (participantId, source, track, _stream, info) => onRemoteTrack(client, participantId, source, track, info);
  client.ontrackremoved = (participantId, source, track, _stream, info) => {
    call?.views.unobserve(info.id);
    onRemoteTrackRemoved(participantId, source, track);
  };
  client.ontracklayer = (layer) => { if (call?.client === client) call.views.setLayer(layer); };
  client.onchat = appendChat;
  client.ondraining = (deadline) => {
    const until = deadline ? ` The call ends at the latest at ${deadline.toLocaleTimeString()}.` : '';
    notify('draining', `The server is shutting down: this call goes on, but no one new can join.${until}`, 'warning');
  };
  client.onlocaltrackended = (track, source) => {
    if (source === 'screen') stopScreenShare();
    else notify('device-ended', `Your ${source} stopped (the device was unplugged or taken by another program).`, 'warning');
    void track;
  };
  client.onactivespeaker = (speakers) => { if (call?.client === client) meeting.speakersChanged(speakers); };
  client.ontrackmuted = () => { if (call?.client === client) meeting.refresh(); };
  client.onconnectionstate = (target, state) => {
    if (call?.client !== client) return;
    call.media.set(target, state);
    if (state === 'connected') clearNotice('ice-failed'); // an ICE restart brought it back
    renderState(client.state);
  };
  client.onmodechange = (mode, switching) => {
    if (call?.client !== client) return;
    // The old mode's connections are closed: their last states no longer count.
    if (!switching) {
      for (const target of [...call.media.keys()]) {
        if ((mode === 'mesh') !== target.startsWith('peer:')) call.media.delete(target);
      }
    }
    renderRoomLabel();
    renderState(client.state);
  };
}

/**
 * @param {SwitchboardClient} client
 * @param {string} participantId
 * @param {Source} source
 * @param {MediaStreamTrack} track
 * @param {TrackInfo} info
 */
function onRemoteTrack(client, participantId, source, track, info) {
  const participant = client.participants.get(participantId);
  if (!participant) return; // left before its media arrived
  const tile = ensureRemoteTile(participantId, source === 'screen' ? 'screen' : 'camera', participant.name);
  if (track.kind === 'video') {
    attach(tile.video, track);
    tile.root.classList.remove('no-video');
    call?.views.observe(info.id, tile.video, tile.root);
  } else if (tile.audio) {
    attach(tile.audio, track);
  }
}

/**
 * @param {string} participantId
 * @param {Source} source
 * @param {MediaStreamTrack} track
 */
function onRemoteTrackRemoved(participantId, source, track) {
  const tile = remoteTiles.get(`${participantId}/${source === 'screen' ? 'screen' : 'camera'}`);
  if (!tile) return;
  // A track an auto room's switch replaced is no longer shown: nothing to undo.
  if (source === 'screen') {
    if (isShowing(tile.video, track) || !tile.video.srcObject) removeRemoteTile(participantId, 'screen');
    return;
  }
  if (isShowing(tile.video, track)) {
    tile.video.srcObject = null;
    tile.root.classList.add('no-video');
  }
  if (tile.audio && isShowing(tile.audio, track)) tile.audio.srcObject = null;
}

/** The room's name and mode at the top of the page. */
function renderRoomLabel() {
  if (!call) return;
  const { room, mode } = call.client;
  ui.roomLabel.textContent = mode === 'mesh' ? `Room ${room} (peer-to-peer)` : `Room ${room}`;
  ui.roomLabel.dataset.mode = mode;
}

/** @param {string} room */
function showCallView(room) {
  ui.joinView.hidden = true;
  ui.callView.hidden = false;
  const client = call?.client;
  renderRoomLabel();
  document.title = `${room} · Switchboard`;
  history.replaceState(null, '', shareUrl(room, client?.auto ? 'auto' : client?.mode));
  ui.chatLog.replaceChildren();
  renderLocalCamera();
  renderParticipants();
  renderControls();
  if (call) meeting.start(call.client);
  void devices.show(call?.camera ?? null);
}

/** Tears the call down (after leave, a failed join or a lost connection). */
function endCall() {
  const current = call;
  if (!current) return;
  call = null;
  meeting.stop();
  current.client.leave();
  for (const stream of [current.camera, current.screen]) stream?.getTracks().forEach((t) => t.stop());
  removeAllTiles();
  current.views.close();
  ui.participants.replaceChildren();
  ui.callView.hidden = true;
  ui.joinView.hidden = false;
  ui.joinButton.disabled = false;
  ui.roomLabel.textContent = '';
  document.title = 'Switchboard';
  clearNotice('autoplay');
  renderState(current.client.state);
  updateShareLink();
}

// ---------------------------------------------------------------------------
// Controls

function renderControls() {
  if (!call) return;
  const { client, camera, screen } = call;
  const hasAudio = !!camera?.getAudioTracks().length;
  const hasVideo = !!camera?.getVideoTracks().length;
  ui.mic.disabled = !hasAudio;
  ui.mic.setAttribute('aria-pressed', String(client.muted.audio));
  ui.mic.textContent = client.muted.audio ? 'Unmute mic' : 'Mute mic';
  ui.camera.disabled = !hasVideo;
  ui.camera.setAttribute('aria-pressed', String(client.muted.video));
  ui.camera.textContent = client.muted.video ? 'Start camera' : 'Stop camera';
  ui.screen.disabled = !navigator.mediaDevices?.getDisplayMedia;
  ui.screen.setAttribute('aria-pressed', String(!!screen));
  ui.screen.textContent = screen ? 'Stop sharing' : 'Share screen';
}

/** @param {'audio' | 'video'} kind */
function toggleMute(kind) {
  if (!call) return;
  call.client.setMuted(kind, !call.client.muted[kind]);
  renderControls();
  renderLocalCamera();
}

/**
 * Sends another camera or microphone in place of the one in use: the new device's
 * track replaces the old on the same senders (no renegotiation), then the old stops.
 * @param {'audio' | 'video'} kind
 * @param {string} deviceId
 */
async function switchDevice(kind, deviceId) {
  if (!call?.camera) return;
  const { client, camera } = call;
  const old = kind === 'audio' ? camera.getAudioTracks()[0] : camera.getVideoTracks()[0];
  if (!old) return;
  let track;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ [kind]: { deviceId: { exact: deviceId } } });
    track = stream.getTracks()[0];
  } catch (err) {
    const what = kind === 'audio' ? 'microphone' : 'camera';
    notify('device-failed', `Could not switch to that ${what} (${describeMediaError(err instanceof DOMException ? err.name : '')}).`, 'warning');
    void devices.show(camera);
    return;
  }
  if (call?.client !== client || call.camera !== camera || !track) { track?.stop(); return; }
  try {
    if (client.state === 'joined' && !(await client.replaceTrack(old, track))) {
      throw new SwitchboardError('bad-state', 'Your camera and microphone are not being sent yet: try again in a moment.');
    }
  } catch (err) {
    track.stop();
    showError(err);
    void devices.show(camera);
    return;
  }
  track.enabled = !client.muted[kind];
  camera.removeTrack(old);
  camera.addTrack(track);
  old.stop();
  clearNotice('device-failed');
  renderLocalCamera();
  void devices.show(camera);
}

async function startScreenShare() {
  if (!call || call.screen) return;
  const { client } = call;
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'NotAllowedError') return; // the person cancelled
    notify('screen-failed', `Screen sharing could not start: ${err instanceof Error ? err.message : String(err)}`, 'warning');
    return;
  }
  if (call?.client !== client) { stream.getTracks().forEach((t) => t.stop()); return; }
  call.screen = stream;
  localScreenTile = makeTile({ name: 'Your screen', source: 'screen' });
  localScreenTile.name.textContent = 'Your screen';
  attach(localScreenTile.video, stream.getVideoTracks()[0] ?? null);
  localScreenTile.root.classList.remove('no-video');
  renderControls();
  try {
    await client.publish(stream, 'screen');
  } catch (err) {
    showError(err);
    stopScreenShare();
  }
}

function stopScreenShare() {
  if (!call?.screen) return;
  const { client, screen } = call;
  call.screen = null;
  if (client.state === 'joined') client.unpublish('screen').catch(showError);
  screen.getTracks().forEach((t) => t.stop());
  if (localScreenTile) {
    localScreenTile.video.srcObject = null;
    localScreenTile.root.remove();
    localScreenTile = null;
  }
  renderControls();
}

// ---------------------------------------------------------------------------
// Join form

/** @param {string} name */
function rememberName(name) {
  try { localStorage.setItem('switchboard.name', name); } catch { /* storage may be off */ }
}

function rememberedName() {
  try { return localStorage.getItem('switchboard.name') ?? ''; } catch { return ''; }
}

function updateShareLink() {
  const room = ui.room.value.trim();
  const valid = ROOM_NAME_PATTERN.test(room);
  ui.shareLink.href = shareUrl(valid ? room : '');
  ui.shareLink.textContent = valid ? shareUrl(room) : 'Choose a room name first';
  ui.copyLink.disabled = !valid;
}

/**
 * @param {string} room
 * @param {string} name
 * @returns {string | null} what is wrong, or null
 */
function validate(room, name) {
  if (!ROOM_NAME_PATTERN.test(room)) return 'Room names are 1 to 64 letters, digits, "-", "_" or ".".';
  const length = [...name].length;
  if (length < 1 || length > MAX_NAME_CHARS) return `Your name must be 1 to ${MAX_NAME_CHARS} characters.`;
  return null;
}

function submitJoin() {
  const room = ui.room.value.trim();
  const name = ui.name.value.trim();
  const problem = validate(room, name);
  if (problem) {
    notify('bad-request', problem, 'warning');
    return;
  }
  clearNotice('bad-request');
  void joinRoom(room, name);
}

function sendChat() {
  if (!call) return;
  const text = ui.chatInput.value.trim();
  if (!text) return;
  if (new TextEncoder().encode(text).length > MAX_CHAT_BYTES) {
    notify('chat-too-long', `Chat messages are at most ${MAX_CHAT_BYTES} bytes.`, 'warning');
    return;
  }
  try {
    call.client.sendChat(text);
    ui.chatInput.value = '';
    clearNotice('chat-too-long');
  } catch (err) {
    showError(err);
  }
}

async function copyShareLink() {
  try {
    await navigator.clipboard.writeText(ui.shareLink.href);
    ui.copyLink.textContent = 'Copied';
    setTimeout(() => { ui.copyLink.textContent = 'Copy link'; }, 1500);
  } catch {
    notify('copy-failed', `Copy this link: ${ui.shareLink.href}`, 'info');
  }
}

function start() {
  const params = new URLSearchParams(location.search);
  ui.room.value = params.get('room') ?? '';
  ui.name.value = params.get('name') ?? rememberedName();
  updateShareLink();

  ui.room.addEventListener('input', updateShareLink);
  ui.joinForm.addEventListener('submit', (event) => { event.preventDefault(); submitJoin(); });
  ui.copyLink.addEventListener('click', () => { void copyShareLink(); });
  ui.chatForm.addEventListener('submit', (event) => { event.preventDefault(); sendChat(); });
  ui.mic.addEventListener('click', () => toggleMute('audio'));
  ui.camera.addEventListener('click', () => toggleMute('video'));
  ui.screen.addEventListener('click', () => { if (call?.screen) stopScreenShare(); else void startScreenShare(); });
  ui.leave.addEventListener('click', () => {
    endCall();
    notify('left', 'You left the room.', 'info');
  });
  window.addEventListener('pagehide', () => call?.client.leave());

  renderState('disconnected');
  if (params.get('autojoin') === '1' && ui.room.value) {
    if (!ui.name.value) ui.name.value = randomName();
    submitJoin();
  } else {
    (ui.room.value ? ui.name : ui.room).focus();
  }
}

start();
