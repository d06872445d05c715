// The /watch?room=R[&token=T] page: plays a room's publisher through WHEP, and waits
// for one while the room is empty.

import { WhepPlayer } from './whep.js';

/** How often to ask again while nobody is in the room. */
const RETRY_MS = 2000;

const stateLabels = {
  connecting: 'Connecting',
  waiting: 'Waiting for someone to publish',
  playing: 'Playing',
  failed: 'Connection failed',
  closed: 'Stopped',
};

const params = new URLSearchParams(window.location.search);
const room = params.get('room') ?? '';
/** A join token (`?token=`), for a server that requires one. */
const token = params.get('token') ?? '';
const stateEl = /** @type {HTMLElement} */ (document.getElementById('state'));
const player = /** @type {HTMLVideoElement} */ (document.getElementById('player'));
/** @type {HTMLElement} */ (document.getElementById('room-label')).textContent = room;

/**
 * @param {import('./whep.js').WatchState} state
 * @param {string} [detail]
 */
function showState(state, detail) {
  stateEl.dataset.state = state;
  stateEl.textContent = stateLabels[state];
  stateEl.title = detail ?? '';
}

async function watch() {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(room)) {
    showState('failed', 'the address needs ?room=<name>');
    return;
  }
  for (;;) {
    // The player gets its stream only once there is a track: a <video> waiting on an
    // empty stream would hold back the page's load event.
    const whep = new WhepPlayer(`/whep/${encodeURIComponent(room)}`, showState, (stream) => {
      if (player.srcObject !== stream) player.srcObject = stream;
    }, token);
    // Exposed for the browser tests.
    window.switchboardWatch = whep;
    if (await whep.start()) {
      window.addEventListener('pagehide', () => whep.stop(), { once: true });
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}

watch().catch((err) => showState('failed', String(err)));
