// @ts-check
/**
 * The camera and microphone pickers of the call view: two <select> elements filled
 * from enumerateDevices(), kept up to date when devices come and go, showing the
 * device that is in use. Choosing another calls `onchoose`; switching is the page's
 * business (app.js: a new track, then SwitchboardClient.replaceTrack).
 *
 * @module devices
 */

/** @typedef {'audio' | 'video'} Kind */

export class DevicePicker {
  /**
   * @param {{audio: HTMLSelectElement, video: HTMLSelectElement}} selects
   * @param {(kind: Kind, deviceId: string) => void} onchoose
   */
  constructor(selects, onchoose) {
    this.selects = selects;
    /** @type {{audio: string, video: string}} device ids in use ('' for none) */
    this.current = { audio: '', video: '' };
    for (const kind of /** @type {Kind[]} */ (['audio', 'video'])) {
      selects[kind].addEventListener('change', () => {
        const id = selects[kind].value;
        if (id && id !== this.current[kind]) onchoose(kind, id);
      });
    }
    this.onDeviceChange = () => { void this.refresh(); };
    navigator.mediaDevices?.addEventListener('devicechange', this.onDeviceChange);
  }

  /**
   * Shows the devices of the tracks in use as chosen, then refreshes the lists.
   * @param {MediaStream | null} stream
   */
  show(stream) {
    for (const kind of /** @type {Kind[]} */ (['audio', 'video'])) {
      const track = kind === 'audio' ? stream?.getAudioTracks()[0] : stream?.getVideoTracks()[0];
      this.current[kind] = track?.getSettings().deviceId ?? '';
    }
    return this.refresh();
  }

  /** Lists the devices again (their labels show once access was granted). */
  async refresh() {
    if (!navigator.mediaDevices?.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    this.fill('audio', devices.filter((d) => d.kind === 'audioinput'));
    this.fill('video', devices.filter((d) => d.kind === 'videoinput'));
  }

  /**
   * @private
   * @param {Kind} kind
   * @param {MediaDeviceInfo[]} devices
   */
  fill(kind, devices) {
    const select = this.selects[kind];
    const usable = devices.filter((d) => d.deviceId); // no ids before access is granted
    const options = usable.map((d, i) => {
      const option = document.createElement('option');
      option.value = d.deviceId;
      option.textContent = d.label || `${kind === 'audio' ? 'Microphone' : 'Camera'} ${i + 1}`;
      return option;
    });
    select.replaceChildren(...options);
    select.value = this.current[kind];
    // Nothing to choose between, or nothing in use to replace: no picker.
    select.disabled = usable.length < 2 || !this.current[kind];
  }

  close() {
    navigator.mediaDevices?.removeEventListener('devicechange', this.onDeviceChange);
  }
}
