// A view's table, read again after each change: only the newest read lands (an older one that
// answers later is dropped), and a failure shows in the view's alert.

import { KeyRefused, listAll } from "./api.js";
import { clear, showError, table } from "./dom.js";

/** A `refresh()` that lists `path` into `container` as table `name`. */
export function listing(container, alert, { name, path, columns, row, empty }) {
  let generation = 0;
  return async function refresh() {
    const mine = ++generation;
    try {
      const items = await listAll(path);
      if (mine !== generation) return;
      clear(alert);
      container.replaceChildren(table(name, columns, items.map(row), empty));
    } catch (error) {
      if (mine === generation && !(error instanceof KeyRefused)) showError(alert, error);
    }
  };
}
