// How values are shown. Everything shown comes from ingested data: pages render it as
// React text children, never as markup.

export function formatTime(t: string | null | undefined): string {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return t;
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC').replace(/Z$/, ' UTC');
}

export function formatNumber(v: number | string | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'string') return v; // NaN and infinities arrive as strings
  if (Number.isInteger(v)) return v.toString();
  return Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3 ? v.toExponential(4) : v.toPrecision(6).replace(/\.?0+$/, '');
}

export function formatShare(v: number): string {
  return `${(v * 100).toFixed(v * 100 === Math.round(v * 100) ? 0 : 1)} %`;
}

/** An RFC 3339 instant for the API, from a datetime-local input value (taken as UTC). */
export function fromLocalInput(v: string): string | null {
  if (!v) return null;
  const d = new Date(v.length === 16 ? `${v}:00Z` : `${v}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** The datetime-local input value (UTC) of an instant. */
export function toLocalInput(t: string): string {
  return new Date(t).toISOString().slice(0, 16);
}
