// Globals the browser client adds, for the type check only (not served).
import type { SwitchboardClient } from '../static/switchboard.js';

declare global {
  interface Window {
    /** The page's current client; tests read its peer connections' getStats(). */
    switchboard?: SwitchboardClient;
  }
}
