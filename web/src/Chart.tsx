import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  points: { step: number | string; value: number | string }[];
}

const COLORS = ['#1565c0', '#d81b60', '#2e7d32', '#e65100', '#6a1b9a', '#00838f', '#827717', '#4e342e', '#455a64', '#ad1457'];

/** NaN and infinities arrive as strings; a chart leaves them out. */
function num(v: number | string): number | null {
  if (typeof v === 'number') return v;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

/** A metric's curve by step, one line per series (several runs overlaid). */
export function MetricChart({ title, series }: { title: string; series: Series[] }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const steps = [...new Set(series.flatMap((s) => s.points.map((p) => num(p.step) ?? 0)))].sort((a, b) => a - b);
    const at = new Map(steps.map((s, i) => [s, i]));
    const ys = series.map((s) => {
      const y: (number | null)[] = new Array(steps.length).fill(null);
      for (const p of s.points) y[at.get(num(p.step) ?? 0)!] = num(p.value);
      return y;
    });
    const plot = new uPlot(
      {
        title,
        width: Math.max(300, el.current.clientWidth),
        height: 220,
        scales: { x: { time: false } },
        axes: [{ label: 'step' }, {}],
        series: [{ label: 'step' }, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))],
      },
      [steps, ...ys] as uPlot.AlignedData,
      el.current,
    );
    return () => plot.destroy();
  }, [title, series]);
  return <div className="chart" ref={el} role="img" aria-label={`Chart of ${title}`} />;
}
