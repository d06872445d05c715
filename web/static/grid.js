// @ts-check
/**
 * The tile grid of the call view: picks the number of columns that makes 16:9 tiles
 * as large as the area allows for the tiles there are, and does so again whenever the
 * area is resized or a tile comes or goes. A screen share takes two columns and two
 * rows. No DOM code beyond the container it is given; no inline styles (the page's
 * CSP forbids them): it sets custom properties through the CSSOM, which style.css
 * uses (`--grid-cols`, `--tile-width`, `--tile-height`).
 *
 * @module grid
 */

/** Tiles are 16:9. */
export const TILE_ASPECT = 16 / 9;

/** Below this width (CSS px) tiles stop shrinking and the grid scrolls instead. */
export const MIN_TILE_WIDTH = 160;

/**
 * @typedef {object} GridLayout
 * @property {number} cols
 * @property {number} rows
 * @property {number} width   of one cell, CSS px
 * @property {number} height  of one cell, CSS px
 */

/**
 * The layout with the largest 16:9 cells for `tiles` tiles, of which `featured` take
 * 2×2 cells, in a `width`×`height` area with `gap` between cells. When even one column
 * per tile would make cells narrower than MIN_TILE_WIDTH, cells keep that width and
 * the rows run past the area (it scrolls).
 * @param {{width: number, height: number, gap: number, tiles: number, featured?: number}} area
 * @returns {GridLayout}
 */
export function bestLayout({ width, height, gap, tiles, featured = 0 }) {
  const cells = Math.max(1, tiles + 3 * featured);
  const minCols = featured > 0 ? 2 : 1;
  /** @type {GridLayout} */
  let best = { cols: minCols, rows: 1, width: 0, height: 0 };
  for (let cols = minCols; cols <= Math.max(minCols, cells); cols++) {
    const rows = Math.max(featured > 0 ? 2 : 1, Math.ceil(cells / cols));
    const cellWidth = Math.min((width - (cols - 1) * gap) / cols, ((height - (rows - 1) * gap) / rows) * TILE_ASPECT);
    if (cellWidth > best.width) best = { cols, rows, width: cellWidth, height: cellWidth / TILE_ASPECT };
  }
  if (best.width >= MIN_TILE_WIDTH) return floorLayout(best);
  const cols = Math.max(minCols, Math.min(cells, Math.floor((width + gap) / (MIN_TILE_WIDTH + gap))));
  const cellWidth = Math.max(MIN_TILE_WIDTH, (width - (cols - 1) * gap) / cols);
  return floorLayout({ cols, rows: Math.ceil(cells / cols), width: cellWidth, height: cellWidth / TILE_ASPECT });
}

/**
 * Whole pixels, so that rounding never makes the grid one pixel too wide.
 * @param {GridLayout} layout
 * @returns {GridLayout}
 */
function floorLayout(layout) {
  return { ...layout, width: Math.max(0, Math.floor(layout.width)), height: Math.max(0, Math.floor(layout.height)) };
}

/**
 * Keeps a container's tiles (its element children) laid out by bestLayout. Children
 * with `data-source="screen"` are the featured ones.
 */
export class TileGrid {
  /** @param {HTMLElement} container */
  constructor(container) {
    this.container = container;
    /** @type {GridLayout | null} the layout applied last */
    this.layout = null;
    this.resizeObserver = new ResizeObserver(() => this.update());
    this.resizeObserver.observe(container);
    this.mutationObserver = new MutationObserver(() => this.update());
    this.mutationObserver.observe(container, { childList: true });
    this.update();
  }

  /** Lays the tiles out for the container's current size and children. */
  update() {
    const { container } = this;
    const style = getComputedStyle(container);
    const gap = parseFloat(style.columnGap) || 0;
    const width = container.clientWidth - (parseFloat(style.paddingLeft) || 0) - (parseFloat(style.paddingRight) || 0);
    const height = container.clientHeight - (parseFloat(style.paddingTop) || 0) - (parseFloat(style.paddingBottom) || 0);
    if (width <= 0 || height <= 0) return; // hidden
    const tiles = container.children.length;
    const featured = container.querySelectorAll(':scope > [data-source="screen"]').length;
    const layout = bestLayout({ width, height, gap, tiles, featured });
    this.layout = layout;
    container.style.setProperty('--grid-cols', String(layout.cols));
    container.style.setProperty('--tile-width', `${layout.width}px`);
    container.style.setProperty('--tile-height', `${layout.height}px`);
    container.dataset.cols = String(layout.cols);
  }

  disconnect() {
    this.resizeObserver.disconnect();
    this.mutationObserver.disconnect();
  }
}
