/**
 * A one-hidden-layer network (2 → hidden, ReLU → classes, softmax) with cross-entropy loss and SGD with
 * momentum, in plain TypeScript: enough to learn the spirals in a second, and nothing to install.
 */

/** Weights and their momentum buffers. */
export class Mlp {
  readonly w1: Float64Array; readonly b1: Float64Array;
  readonly w2: Float64Array; readonly b2: Float64Array;
  private readonly velocity: Float64Array[];
  private readonly hidden: Float64Array;
  private readonly probabilities: Float64Array;

  constructor(readonly inputs: number, readonly hiddenUnits: number, readonly classes: number, random: () => number) {
    // He initialisation: keeps ReLU activations from vanishing or exploding at the start.
    const he = (fanIn: number) => () => (random() * 2 - 1) * Math.sqrt(6 / fanIn);
    this.w1 = Float64Array.from({ length: hiddenUnits * inputs }, he(inputs));
    this.b1 = new Float64Array(hiddenUnits);
    this.w2 = Float64Array.from({ length: classes * hiddenUnits }, he(hiddenUnits));
    this.b2 = new Float64Array(classes);
    this.velocity = [this.w1, this.b1, this.w2, this.b2].map((p) => new Float64Array(p.length));
    this.hidden = new Float64Array(hiddenUnits);
    this.probabilities = new Float64Array(classes);
  }

  /** Forward pass of one point: fills `hidden` and `probabilities`; returns the predicted class. */
  private forward(features: Float64Array, offset: number): number {
    const { inputs, hiddenUnits, classes, hidden, probabilities } = this;
    for (let h = 0; h < hiddenUnits; h++) {
      let sum = this.b1[h];
      for (let i = 0; i < inputs; i++) sum += this.w1[h * inputs + i] * features[offset + i];
      hidden[h] = sum > 0 ? sum : 0;
    }
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      let sum = this.b2[c];
      for (let h = 0; h < hiddenUnits; h++) sum += this.w2[c * hiddenUnits + h] * hidden[h];
      probabilities[c] = sum;
      if (sum > max) max = sum;
    }
    let total = 0;
    let best = 0;
    for (let c = 0; c < classes; c++) {
      probabilities[c] = Math.exp(probabilities[c] - max);
      total += probabilities[c];
      if (probabilities[c] > probabilities[best]) best = c;
    }
    for (let c = 0; c < classes; c++) probabilities[c] /= total;
    return best;
  }

  /**
   * One SGD step on the points `order[from..to)`: returns the batch's mean loss and accuracy before the update.
   */
  trainBatch(features: Float64Array, labels: Uint8Array, order: Uint32Array, from: number, to: number, learningRate: number, momentum = 0.9): { loss: number; accuracy: number } {
    const { gradient, lossSum, correct, count } = this.gradientSum(features, labels, order, from, to);
    this.applyGradient(gradient, count, learningRate, momentum);
    return { loss: lossSum / count, accuracy: correct / count };
  }

  /** The number of parameters: the length of a gradient. */
  get parameterCount(): number {
    return this.w1.length + this.b1.length + this.w2.length + this.b2.length;
  }

  /**
   * The loss gradient summed over the points `order[from..to)` (w1, b1, w2, b2 end to end), with the summed loss
   * and the count of correct predictions before any update. Data-parallel training adds these up across workers.
   */
  gradientSum(features: Float64Array, labels: Uint8Array, order: Uint32Array, from: number, to: number): { gradient: Float64Array; lossSum: number; correct: number; count: number } {
    const { inputs, hiddenUnits, classes, hidden, probabilities } = this;
    const gradient = new Float64Array(this.parameterCount);
    const gw1 = gradient.subarray(0, this.w1.length);
    const gb1 = gradient.subarray(this.w1.length, this.w1.length + this.b1.length);
    const gw2 = gradient.subarray(this.w1.length + this.b1.length, this.w1.length + this.b1.length + this.w2.length);
    const gb2 = gradient.subarray(this.w1.length + this.b1.length + this.w2.length);
    const dHidden = new Float64Array(hiddenUnits);
    let loss = 0;
    let correct = 0;
    for (let k = from; k < to; k++) {
      const n = order[k];
      const label = labels[n];
      if (this.forward(features, n * inputs) === label) correct++;
      loss -= Math.log(Math.max(probabilities[label], 1e-12));
      dHidden.fill(0);
      for (let c = 0; c < classes; c++) {
        const dz = probabilities[c] - (c === label ? 1 : 0);
        gb2[c] += dz;
        for (let h = 0; h < hiddenUnits; h++) {
          gw2[c * hiddenUnits + h] += dz * hidden[h];
          dHidden[h] += dz * this.w2[c * hiddenUnits + h];
        }
      }
      for (let h = 0; h < hiddenUnits; h++) {
        if (hidden[h] <= 0) continue;
        gb1[h] += dHidden[h];
        for (let i = 0; i < inputs; i++) gw1[h * inputs + i] += dHidden[h] * features[n * inputs + i];
      }
    }
    return { gradient, lossSum: loss, correct, count: Math.max(to - from, 0) };
  }

  /** An SGD-with-momentum update by a summed gradient of `count` points (a mean gradient when `count` is 1). */
  applyGradient(gradient: Float64Array, count: number, learningRate: number, momentum = 0.9): void {
    if (count === 0) return;
    let offset = 0;
    [this.w1, this.b1, this.w2, this.b2].forEach((param, p) => {
      const velocity = this.velocity[p];
      for (let i = 0; i < param.length; i++) {
        velocity[i] = momentum * velocity[i] - (learningRate * gradient[offset + i]) / count;
        param[i] += velocity[i];
      }
      offset += param.length;
    });
  }

  /** Mean loss and accuracy on a whole dataset, without updating. */
  evaluate(features: Float64Array, labels: Uint8Array, size: number): { loss: number; accuracy: number } {
    let loss = 0;
    let correct = 0;
    for (let n = 0; n < size; n++) {
      if (this.forward(features, n * this.inputs) === labels[n]) correct++;
      loss -= Math.log(Math.max(this.probabilities[labels[n]], 1e-12));
    }
    return { loss: loss / size, accuracy: correct / size };
  }
}
