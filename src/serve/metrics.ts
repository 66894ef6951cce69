/**
 * A small metrics registry and its Prometheus text exposition (format 0.0.4, what vLLM's and
 * llama.cpp's `/metrics` serve): counters and histograms updated as requests run, gauges read
 * when scraped. Pure: no I/O, no clock (callers pass durations).
 *
 *   # HELP name help
 *   # TYPE name counter|gauge|histogram
 *   name{label="value",…} 3
 *   name_bucket{…,le="0.5"} 2 … name_bucket{…,le="+Inf"} 3, name_sum{…} 1.2, name_count{…} 3
 */
import { WiseError } from '../util/errors.js';

export type Labels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value as the text format writes it: backslash, double quote and newline escaped. */
export const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** `{a="x",b="y"}` in the instrument's label order, or '' with no labels. */
function labelText(names: readonly string[], labels: Labels, extra = ''): string {
  const parts = names.map((n) => `${n}="${escapeLabel(labels[n] ?? '')}"`);
  if (extra !== '') parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

const num = (v: number): string => (v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : Number.isNaN(v) ? 'NaN' : String(v));

interface Instrument {
  readonly name: string;
  render(): string[];
}

/** Series keyed by their label values in the instrument's order. */
abstract class Series<T> {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected slot(labels: Labels, init: () => T): { labels: Labels; value: T } {
    for (const k of Object.keys(labels)) if (!this.labelNames.includes(k)) throw new WiseError('WISE_INTERNAL', `metric ${this.name}: unknown label ${k}`);
    const key = JSON.stringify(this.labelNames.map((n) => labels[n] ?? ''));
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { labels: { ...labels }, value: init() }));
    return s;
  }
}

export class Counter extends Series<number> implements Instrument {
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new WiseError('WISE_INTERNAL', `counter ${this.name}: increment ${by} is not ≥ 0`);
    this.slot(labels, () => 0).value += by;
  }

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.series.values()].map((s) => `${this.name}${labelText(this.labelNames, s.labels)} ${num(s.value)}`)];
  }
}

interface HistogramState {
  /** per bucket (not cumulative), the last one +Inf */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Series<HistogramState> implements Instrument {
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!))) {
      throw new WiseError('WISE_INTERNAL', `histogram ${name}: buckets must be finite and increasing`);
    }
  }

  observe(labels: Labels, v: number): void {
    const s = this.slot(labels, () => ({ counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 })).value;
    let i = this.buckets.findIndex((b) => v <= b);
    if (i < 0) i = this.buckets.length;
    s.counts[i]! += 1;
    s.sum += v;
    s.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, value: s } of this.series.values()) {
      let acc = 0;
      [...this.buckets, Infinity].forEach((b, i) => {
        acc += s.counts[i]!;
        lines.push(`${this.name}_bucket${labelText(this.labelNames, labels, `le="${num(b)}"`)} ${acc}`);
      });
      lines.push(`${this.name}_sum${labelText(this.labelNames, labels)} ${num(s.sum)}`, `${this.name}_count${labelText(this.labelNames, labels)} ${s.count}`);
    }
    return lines;
  }
}

/** A gauge read at scrape time: `read()` gives each series' labels and value. */
class Gauge implements Instrument {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly read: () => readonly (readonly [Labels, number])[],
  ) {}

  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`, ...this.read().map(([l, v]) => `${this.name}${labelText(this.labelNames, l)} ${num(v)}`)];
  }
}

export class MetricsRegistry {
  private readonly instruments: Instrument[] = [];

  private add<T extends Instrument>(m: T, labelNames: readonly string[]): T {
    if (!NAME.test(m.name) || this.instruments.some((i) => i.name === m.name)) throw new WiseError('WISE_INTERNAL', `metric name ${m.name} is invalid or taken`);
    for (const l of labelNames) if (!LABEL.test(l) || l === 'le') throw new WiseError('WISE_INTERNAL', `metric ${m.name}: invalid label name ${l}`);
    this.instruments.push(m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames), labelNames);
  }

  histogram(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, labelNames, buckets), labelNames);
  }

  gauge(name: string, help: string, labelNames: readonly string[], read: () => readonly (readonly [Labels, number])[]): void {
    this.add(new Gauge(name, help, labelNames, read), labelNames);
  }

  /** The text exposition of every instrument, in registration order. */
  render(): string {
    return `${this.instruments.flatMap((m) => m.render()).join('\n')}\n`;
  }
}
