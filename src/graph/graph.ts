/**
 * Graph: a symbolic computation of ONNX primitives with static shape inference.
 *
 * Values are created by `input` (fed per run), `initializer`/`param`/`constant` (stored in
 * the model) and `emit` (a primitive applied to values). Nodes are kept in creation order,
 * which is a topological order. `floatType` is the float element type used for params and
 * scalar constants, so the same builder code makes float32 graphs (serving, training) or
 * float64 graphs (finite-difference checks).
 */
import { WiseError, check } from '../util/errors.js';
import { PRIMITIVES, type Attrs } from './primitives.js';
import { numel, shapeStr, tensorData, type DType, type FloatType, type Shape, type TensorData, type TypedArray } from './types.js';

export type Opset = 17 | 18;

export interface GraphOptions {
  /** Element type of params and float constants. Default 'float32'. */
  floatType?: FloatType;
  /** ai.onnx opset written to the model: 17 or 18 (default 18). */
  opset?: Opset;
  name?: string;
}

/** A symbolic tensor of a graph. */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    public name: string,
  ) {}
  get rank(): number {
    return this.shape.length;
  }
  toString(): string {
    return `${this.name}:${this.dtype}${shapeStr(this.shape)}`;
  }
}

export interface Node {
  readonly op: string;
  readonly inputs: readonly Value[];
  readonly output: Value;
  readonly attrs: Attrs;
}

export class Graph {
  readonly floatType: FloatType;
  readonly opset: Opset;
  readonly name: string;
  readonly nodes: Node[] = [];
  /** Graph inputs in declaration order. */
  readonly inputs: Value[] = [];
  /** Stored tensors (weights and constants), in creation order. */
  readonly initializers = new Map<Value, TensorData>();
  readonly outputs: { name: string; value: Value }[] = [];
  /** Data for inputs declared with `param(..., { asInput: true })`; run() uses it when a feed is absent. */
  readonly inputDefaults = new Map<string, TensorData>();
  /** Bumped on every mutation; hash.ts memoizes on it. */
  version = 0;

  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly producers = new Map<Value, Node>();
  private readonly scalars = new Map<string, Value>();

  constructor(opts: GraphOptions = {}) {
    this.floatType = opts.floatType ?? 'float32';
    this.opset = opts.opset ?? 18;
    this.name = opts.name ?? 'wise';
    check(this.opset === 17 || this.opset === 18, 'WISE_GRAPH', `unsupported opset ${String(this.opset)} (17 or 18)`);
  }

  /** A graph input fed at run time. Shape dims may be symbolic strings. */
  input(name: string, dtype: DType, shape: Shape): Value {
    const v = this.newValue(dtype, shape, this.claim(name));
    this.inputs.push(v);
    return v;
  }

  /** A named tensor stored in the model (a frozen weight). */
  initializer(name: string, data: TensorData): Value {
    return this.store(this.claim(name), data);
  }

  /**
   * A float weight in the graph's floatType (data converted if needed). By default stored as
   * an initializer; with `asInput` it is a graph input whose data is remembered in
   * `inputDefaults` (used for big frozen weights, see onnx.ts on the 2 GB limit, and for
   * weights that change every step).
   */
  param(name: string, data: ArrayLike<number> | TypedArray, shape: readonly number[], opts: { asInput?: boolean } = {}): Value {
    const t = data instanceof (this.floatType === 'float32' ? Float32Array : Float64Array) && data.length === numel(shape)
      ? { dtype: this.floatType, dims: [...shape], data: data as Float32Array | Float64Array }
      : tensorData(this.floatType, shape, data);
    if (!opts.asInput) return this.initializer(name, t);
    const v = this.input(name, this.floatType, shape);
    this.inputDefaults.set(name, t);
    return v;
  }

  /** An anonymous stored constant (name generated). */
  constant(data: TensorData): Value {
    return this.store(this.autoName('const'), data);
  }

  /** A scalar constant (shape []), cached per (value, dtype). Default dtype: floatType. */
  scalar(value: number, dtype: DType = this.floatType): Value {
    const key = `${dtype}:${Object.is(value, -0) ? '-0' : String(value)}`;
    let v = this.scalars.get(key);
    if (!v) {
      v = this.constant(tensorData(dtype, [], [value]));
      this.scalars.set(key, v);
    }
    return v;
  }

  /** Applies primitive `op` (a key of PRIMITIVES) and returns its output value. */
  emit(op: string, inputs: readonly Value[], attrs: Attrs = {}): Value {
    const prim = PRIMITIVES[op];
    if (!prim) throw new WiseError('WISE_GRAPH', `unknown primitive ${op}`, { op });
    for (const i of inputs) check(i.graph === this, 'WISE_GRAPH', `${op}: input ${i.name} belongs to another graph`, { op });
    let sig;
    try {
      sig = prim.infer(inputs, attrs);
    } catch (e) {
      if (e instanceof WiseError) {
        e.message = `${e.message} (in ${op} of ${inputs.map(String).join(', ')})`;
        e.details['op'] = op;
      }
      throw e;
    }
    const out = this.newValue(sig.dtype, sig.shape, this.autoName(op.toLowerCase()));
    const node: Node = { op, inputs: [...inputs], output: out, attrs };
    this.nodes.push(node);
    this.producers.set(out, node);
    return out;
  }

  /** Marks `v` as a graph output named `name` (renaming it in place when possible). */
  output(name: string, v: Value): Value {
    check(v.graph === this, 'WISE_GRAPH', `output ${name}: value belongs to another graph`);
    const node = this.producers.get(v);
    const free = node && !this.outputs.some((o) => o.value === v) && /^[a-z]+_\d+$/.test(v.name);
    if (free && !this.names.has(name)) {
      this.names.delete(v.name);
      v.name = this.claim(name);
    } else if (v.name !== name) {
      v = this.emitNamed('Identity', [v], name);
    }
    this.outputs.push({ name, value: v });
    this.version++;
    return v;
  }

  /** The node that produced `v` (undefined for inputs and initializers). */
  producer(v: Value): Node | undefined {
    return this.producers.get(v);
  }

  private emitNamed(op: string, inputs: Value[], name: string): Value {
    const v = this.emit(op, inputs);
    this.names.delete(v.name);
    v.name = this.claim(name);
    return v;
  }

  private store(name: string, data: TensorData): Value {
    check(data.data.length === numel(data.dims), 'WISE_SHAPE_MISMATCH', `${name}: ${data.data.length} elements for ${shapeStr(data.dims)}`);
    const v = this.newValue(data.dtype, data.dims, name);
    this.initializers.set(v, data);
    return v;
  }

  private newValue(dtype: DType, shape: Shape, name: string): Value {
    for (const d of shape) {
      const ok = typeof d === 'string' ? d.length > 0 : Number.isInteger(d) && d >= 0;
      check(ok, 'WISE_GRAPH', `bad dimension ${String(d)} in ${shapeStr(shape)} for ${name}`);
    }
    this.version++;
    return new Value(this, this.nextId++, dtype, [...shape], name);
  }

  private claim(name: string): string {
    check(name.length > 0 && !this.names.has(name), 'WISE_GRAPH', `duplicate or empty value name '${name}'`, { name });
    this.names.add(name);
    return name;
  }

  private autoName(prefix: string): string {
    let n = `${prefix}_${this.nextId}`;
    while (this.names.has(n)) n += '_';
    this.names.add(n);
    return n;
  }
}
