/** Small dense-vector helpers of the rank-one and MEMIT updates (host side, d or ff long). Pure. */

export const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
};

export const norm = (a: ArrayLike<number>): number => Math.sqrt(dot(a, a));

/** a += c · b, in place. */
export const addTo = (a: Float32Array | Float64Array, b: ArrayLike<number>, c: number): void => {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) + c * (b[i] as number);
};

/** a *= c, in place. */
export const scaleTo = (a: Float32Array | Float64Array, c: number): void => {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * c;
};
