/**
 * The example's data: three interleaved spirals in the plane, generated from a seed (no download, same data
 * every run). A linear model cannot separate them; a small network can, so the loss visibly falls.
 */

/** A seeded PRNG (mulberry32): small, fast, and the same sequence on every machine. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Points (x, y) with their class, row-major: `features[2 * i]`, `features[2 * i + 1]`, `labels[i]`. */
export interface Dataset {
  features: Float64Array;
  labels: Uint8Array;
  size: number;
  classes: number;
}

/** `pointsPerClass` points on each of `classes` spiral arms, with Gaussian-ish noise. */
export function spirals(pointsPerClass: number, classes: number, random: () => number): Dataset {
  const size = pointsPerClass * classes;
  const features = new Float64Array(size * 2);
  const labels = new Uint8Array(size);
  for (let c = 0; c < classes; c++) {
    for (let i = 0; i < pointsPerClass; i++) {
      const n = c * pointsPerClass + i;
      const radius = (i + 1) / pointsPerClass;
      const noise = (random() + random() + random() - 1.5) * 0.25;
      const angle = (c * 2 * Math.PI) / classes + radius * 4 + noise;
      features[2 * n] = radius * Math.sin(angle);
      features[2 * n + 1] = radius * Math.cos(angle);
      labels[n] = c;
    }
  }
  return { features, labels, size, classes };
}

/** Shuffles indices 0..size-1 in place (Fisher–Yates) and returns them. */
export function shuffled(size: number, random: () => number): Uint32Array {
  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  for (let i = size - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]; order[i] = order[j]; order[j] = t;
  }
  return order;
}

/** Splits a dataset by a shuffled order: the first `validationShare` for validation, the rest for training. */
export function split(data: Dataset, validationShare: number, random: () => number): { train: Dataset; validation: Dataset } {
  const order = shuffled(data.size, random);
  const validationSize = Math.round(data.size * validationShare);
  const take = (from: number, to: number): Dataset => {
    const size = to - from;
    const features = new Float64Array(size * 2);
    const labels = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
      const n = order[from + i];
      features[2 * i] = data.features[2 * n];
      features[2 * i + 1] = data.features[2 * n + 1];
      labels[i] = data.labels[n];
    }
    return { features, labels, size, classes: data.classes };
  };
  return { validation: take(0, validationSize), train: take(validationSize, data.size) };
}
