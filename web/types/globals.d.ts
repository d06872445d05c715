// Globals the browser client adds, for the type check only (not served).
import type { SwitchboardClient } from '../static/switchboard.js';
import type { WhepPlayer } from '../static/whep.js';

declare global {
  interface Window {
    /** The page's current client; tests read its peer connections' getStats(). */
    switchboard?: SwitchboardClient;
    /** The /watch page's WHEP player; tests read its connection's getStats(). */
    switchboardWatch?: WhepPlayer;
  }
}
