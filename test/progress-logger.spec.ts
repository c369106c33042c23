import "reflect-metadata";
import { expect } from "chai";
import { onEpoch, onStep, onTrain, telemetry, type TelemetryEvent } from "../src/index";
import { ProgressLogger, type ProgressStream } from "../src/loggers/progress";
import { convention, warningsDuring } from "./helpers";

/** A stream that keeps what is written, as a terminal (isTTY) or as a pipe. */
class FakeStream implements ProgressStream {
  readonly chunks: string[] = [];
  constructor(readonly isTTY: boolean, readonly columns?: number) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
  /** Complete lines, for a non-terminal stream. */
  get lines(): string[] {
    return this.text.split("\n").slice(0, -1);
  }
  /** What a terminal shows on its last line: the text after the last `\r`, trailing blanks trimmed. */
  get screenLine(): string {
    const last = this.chunks[this.chunks.length - 1] ?? "";
    return last.slice(last.lastIndexOf("\r") + 1).trimEnd();
  }
}

/** The clock the loggers under test measure with (their `now` option), in ms; {@link at} sets it. */
let clockMs = 0;
const clock = () => clockMs;

/** An event as far as the logger reads it (what it is a unit of), at a time (seconds) the clock then shows. */
function at(seconds: number, kind: "step" | "epoch" | "train" = "step", index = 0): TelemetryEvent {
  clockMs = seconds * 1000;
  return { ts: seconds, kind, index } as unknown as TelemetryEvent;
}

describe("ProgressLogger", () => {
  describe("off a terminal (CI, pipes)", () => {
    it("writes one plain line per epoch: epoch, steps, duration, rate, epoch metrics, last step metrics", () => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream });
      logger.onEpochBegin(0, {}, at(100, "epoch"));
      for (let step = 0; step < 4; step++) {
        logger.onStepBegin(step, {}, at(100 + step * 0.5));
        logger.onStepEnd(step, { loss: 1 / (step + 1) + 0.000123, lr: 0.001, acc: 0.5, seen: 1200, extra: 7 }, at(100.5 + step * 0.5));
      }
      expect(stream.chunks, "nothing between epoch lines by default").to.deep.equal([]);
      logger.onEpochEnd(0, { valAcc: 0.912345, note: "text is not shown" }, at(102, "epoch"));
      expect(stream.lines).to.deep.equal([
        "epoch 0: 4 steps in 2 s (2 steps/s) | valAcc=0.9123 | last step: loss=0.2501 lr=0.001 acc=0.5 seen=1200",
      ]);
      expect(stream.text).to.not.include("\r");
    });

    it("with logEvery, also writes a line every N steps of the epoch, counting from the epoch's start", () => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream, logEvery: 2, stepsPerEpoch: 4 });
      for (const epoch of [0, 1]) {
        logger.onEpochBegin(epoch, {}, at(10 * epoch, "epoch"));
        for (let step = 0; step < 4; step++) logger.onStepEnd(step, { loss: step }, at(10 * epoch + step + 1));
        logger.onEpochEnd(epoch, {}, at(10 * epoch + 4, "epoch"));
      }
      expect(stream.lines).to.deep.equal([
        "epoch 0 step 2/4: 1 steps/s | loss=1",
        "epoch 0 step 4/4: 1 steps/s | loss=3",
        "epoch 0: 4 steps in 4 s (1 steps/s) | last step: loss=3",
        "epoch 1 step 2/4: 1 steps/s | loss=1",
        "epoch 1 step 4/4: 1 steps/s | loss=3",
        "epoch 1: 4 steps in 4 s (1 steps/s) | last step: loss=3",
      ]);
    });

    it("prints an error as one line naming the epoch and step, with only the message's first line", () => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream });
      logger.onEpochBegin(2, {}, at(0, "epoch"));
      logger.onError(new TypeError("shapes do not match\n  at layer 3"), {}, at(1, "step", 37));
      expect(stream.lines).to.deep.equal(["error in epoch 2 step 37: TypeError: shapes do not match …"]);
    });

    it("prints a final line at train end, and at close() when there was no train end", () => {
      const trained = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream: trained });
      logger.onTrainBegin({}, at(0, "train"));
      logger.onStepBegin(0, {}, at(0));
      logger.onStepEnd(0, { loss: 0.5 }, at(4));
      logger.onTrainEnd({ testAcc: 0.75 }, at(4, "train"));
      logger.close();
      expect(trained.lines).to.deep.equal(["done: 0 epochs, 1 step in 4 s (4 s/step) | testAcc=0.75"]);

      const untrained = new FakeStream(false);
      const bare = new ProgressLogger({ now: clock, stream: untrained });
      bare.onStepEnd(0, { loss: 0.5 });
      bare.close();
      expect(untrained.lines).to.have.length(1);
      expect(untrained.lines[0]).to.match(/^end: 0 epochs, 1 step \| loss=0.5$/);
    });

    it("shows only the keys asked for, in that order, including strings and booleans", () => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream, keys: ["lr", "phase", "valAcc", "missing"] });
      logger.onEpochBegin(0, {}, at(0, "epoch"));
      logger.onStepEnd(0, { loss: 1, lr: 0.0012345, phase: "warmup" }, at(1));
      logger.onEpochEnd(0, { valAcc: 0.5, valLoss: 2 }, at(1, "epoch"));
      expect(stream.lines).to.deep.equal(["epoch 0: 1 step in 1 s (1 steps/s) | valAcc=0.5 | last step: lr=0.001234 phase=warmup"]);
    });

    it("formats values at four significant digits, keeps NaN and Infinity visible, and shows BigInts whole", () => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream, logEvery: 1 });
      logger.onStepEnd(0, { a: 123456.789, b: 1.23456e-7, c: Number.NaN, d: -Infinity, e: 12345678901234567890n }, at(1));
      expect(stream.lines[0]).to.match(/ \| a=123500 b=1.235e-7 c=NaN d=-Infinity$/);
      const bigints = new FakeStream(false);
      new ProgressLogger({ now: clock, stream: bigints, logEvery: 1, keys: ["e"] }).onStepEnd(0, { e: 12345678901234567890n }, at(1));
      expect(bigints.lines[0]).to.match(/ \| e=12345678901234567890$/);
    });
  });

  describe("on a terminal", () => {
    it("redraws one line in place on every step when refreshMs is 0", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0 });
      for (let step = 0; step < 5; step++) logger.onStepEnd(step, { loss: step / 10 }, at(100 + step));
      expect(stream.chunks).to.have.length(5);
      for (const chunk of stream.chunks) expect(chunk).to.match(/^\r[^\n]*$/);
      expect(stream.screenLine).to.match(/^step 5 \| .* \| loss=0.4$/);
    });

    it("with a large refreshMs draws only the first step and the closing line", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 1e9 });
      for (let step = 0; step < 1000; step++) logger.onStepEnd(step, { loss: step });
      expect(stream.chunks).to.have.length(1);
      expect(stream.chunks[0]).to.match(/^\rstep 1 \| .* \| loss=0$/);
      logger.close();
      expect(stream.chunks).to.have.length(2);
      expect(stream.chunks[1]).to.match(/^\rstep 1000 \| .* \| loss=999\n$/);
    });

    it("throttles by time: redraws once refreshMs has passed since the last draw", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 100 });
      const seconds = [0, 0.05, 0.099, 0.1, 0.15, 0.2, 0.25];
      seconds.forEach((t, step) => logger.onStepEnd(step, {}, at(1000 + t)));
      expect(stream.chunks.map((chunk) => chunk.trimEnd())).to.deep.equal(["\rstep 1 | - steps/s", "\rstep 4 | - steps/s", "\rstep 6 | - steps/s"]);
    });

    it("throttles by the refreshMs given, a fraction of a millisecond included", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 250.5 });
      [0, 0.1, 0.25, 0.2505, 0.4, 0.501].forEach((t, step) => logger.onStepEnd(step, {}, at(1000 + t)));
      expect(stream.chunks.map((chunk) => chunk.trimEnd())).to.deep.equal(["\rstep 1 | - steps/s", "\rstep 4 | - steps/s", "\rstep 6 | - steps/s"]);
    });

    it("shows the step of the epoch out of stepsPerEpoch, a bar, the percentage, the rate and an ETA", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, stepsPerEpoch: 10 });
      logger.onEpochBegin(3, {}, at(50, "epoch"));
      expect(stream.screenLine).to.equal("epoch 3 | step 0/10 [>                   ]   0% | - steps/s");
      for (let step = 0; step < 5; step++) logger.onStepEnd(30 + step, { loss: 0.4512345, lr: 0.001 }, at(50 + (step + 1) * 0.5));
      expect(stream.screenLine).to.equal("epoch 3 | step 5/10 [==========>         ]  50% | 2 steps/s | eta 2.5 s | loss=0.4512 lr=0.001");
    });

    it("leaves one line per finished epoch and redraws the next epoch's line below it", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0 });
      logger.onEpochBegin(0, {}, at(0, "epoch"));
      logger.onStepEnd(0, { loss: 1 }, at(1));
      logger.onEpochEnd(0, { valAcc: 0.5 }, at(2, "epoch"));
      logger.onEpochBegin(1, {}, at(2, "epoch"));
      const screen = stream.text.split("\n");
      expect(screen).to.have.length(2);
      expect(screen[0].slice(screen[0].lastIndexOf("\r") + 1).trimEnd()).to.equal("epoch 0: 1 step in 2 s (2 s/step) | valAcc=0.5 | last step: loss=1");
      expect(stream.screenLine).to.equal("epoch 1 | step 0 | - steps/s");
    });

    it("blanks out what a longer previous line left on screen", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, keys: ["phase"] });
      logger.onStepEnd(0, { phase: "a long phase name" }, at(1));
      logger.onStepEnd(1, { phase: "x" }, at(2));
      const [first, second] = stream.chunks;
      expect(second.length).to.equal(first.length);
      expect(second.trimEnd()).to.match(/phase=x$/);
    });

    it("cuts the line to the terminal's width so it never wraps", () => {
      const stream = new FakeStream(true, 30);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, stepsPerEpoch: 100 });
      logger.onEpochBegin(0, {}, at(0, "epoch"));
      logger.onStepEnd(0, { loss: 1, lr: 2 }, at(1));
      expect(stream.screenLine).to.have.length(29);
      expect(stream.screenLine.endsWith("…")).to.equal(true);
    });

    it("prints an error on a line of its own and draws the progress line again below it", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 1e9 });
      logger.onEpochBegin(1, {}, at(0, "epoch"));
      logger.onStepEnd(0, { loss: 1 }, at(1));
      logger.onError(new RangeError("bad lr"), {}, at(2, "step", 1));
      const lines = stream.text.split("\n");
      expect(lines).to.have.length(2);
      expect(lines[0].slice(lines[0].lastIndexOf("\r") + 1).trimEnd()).to.equal("error in epoch 1 step 1: RangeError: bad lr");
      expect(stream.screenLine).to.match(/^epoch 1 \| step 1 \| /);
    });

    it("close() and onTrainEnd end the line with a newline; events after close() are ignored", () => {
      const stream = new FakeStream(true);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0 });
      logger.onTrainBegin({}, at(0, "train"));
      logger.onStepEnd(0, { loss: 1 }, at(1));
      logger.onTrainEnd({}, at(2, "train"));
      expect(stream.text.endsWith("\n")).to.equal(true);
      expect(stream.text.split("\n").slice(-2)[0]).to.equal("done: 0 epochs, 1 step in 2 s (2 s/step) | loss=1");
      const written = stream.chunks.length;
      logger.close();
      logger.close();
      logger.onStepEnd(1, { loss: 2 }, at(3));
      expect(stream.chunks).to.have.length(written);

      const plain = new FakeStream(true);
      const closing = new ProgressLogger({ now: clock, stream: plain, refreshMs: 0 });
      closing.onStepEnd(0, {}, at(1));
      closing.close();
      expect(plain.text.endsWith("\n")).to.equal(true);
      expect(plain.text.split("\n")).to.have.length(2);
    });
  });

  it("writes to process.stderr by default", () => {
    const original = process.stderr.write;
    const seen: string[] = [];
    process.stderr.write = ((chunk: string) => seen.push(chunk) > 0) as typeof process.stderr.write;
    try {
      const logger = new ProgressLogger({ logEvery: 1, refreshMs: 0 });
      logger.onStepEnd(0, { loss: 1 }, at(1));
    } finally {
      process.stderr.write = original;
    }
    expect(seen.join("")).to.include("loss=1");
  });

  it("warns about out-of-range options and uses a sane value instead of failing the run", async () => {
    let logger: ProgressLogger | undefined;
    const stream = new FakeStream(false);
    const warnings = await warningsDuring(() => {
      logger = new ProgressLogger({ now: clock, stream, logEvery: -1, refreshMs: -5, stepsPerEpoch: 0 });
    });
    expect(warnings.map((warning) => warning.message)).to.deep.equal([
      "ProgressLogger: stepsPerEpoch must be at least 1, got 0; ignoring it",
      "ProgressLogger: logEvery must be at least 0, got -1; using 0",
      "ProgressLogger: refreshMs must be at least 0, got -5; using 0",
    ]);
    logger!.onStepEnd(0, {}, at(1));
    expect(stream.chunks).to.deep.equal([]);
  });

  it("takes options at their lowest allowed value without a warning, warns about a non-number, and counts whole steps", async () => {
    const stream = new FakeStream(false);
    const quiet = await warningsDuring(() => { new ProgressLogger({ now: clock, stream, logEvery: 0, refreshMs: 0, stepsPerEpoch: 1 }); });
    expect(quiet).to.deep.equal([]);
    const warnings = await warningsDuring(() => { new ProgressLogger({ now: clock, stream, logEvery: "2" as never, refreshMs: NaN }); });
    expect(warnings.map((warning) => [warning.message, (warning as NodeJS.ErrnoException).code])).to.deep.equal([
      ["ProgressLogger: logEvery must be a number, got 2; using 0", "TRAINER_TELEMETRY_BAD_OPTION"],
      ["ProgressLogger: refreshMs must be a number, got NaN; using 100", "TRAINER_TELEMETRY_BAD_OPTION"],
    ]);
    const low = await warningsDuring(() => { new ProgressLogger({ now: clock, stream, logEvery: -1 }); });
    expect(low.map((warning) => (warning as NodeJS.ErrnoException).code)).to.deep.equal(["TRAINER_TELEMETRY_BAD_OPTION"]);
    // logEvery 2.7 is every 2 steps.
    const logger = new ProgressLogger({ now: clock, stream, logEvery: 2.7 });
    for (let step = 0; step < 4; step++) logger.onStepEnd(step, {}, at(1 + step));
    expect(stream.lines).to.deep.equal(["step 2: - steps/s", "step 4: - steps/s"]);
  });

  describe("on an 80-column terminal", () => {
    const epochContext = { loss: 0.123456, accuracy: 0.954321, valLoss: 0.234567, valAccuracy: 0.961234 };
    const stepContext = { loss: 0.111111, accuracy: 0.966666, learningRate: 0.000123, gradNorm: 1.234567 };

    function epochOnScreen(columns: number | undefined) {
      const stream = new FakeStream(true, columns);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, stepsPerEpoch: 500 });
      logger.onTrainBegin({}, at(0, "train"));
      logger.onEpochBegin(12, {}, at(0, "epoch"));
      for (let step = 0; step < 500; step++) logger.onStepEnd(step, stepContext, at(step / 100));
      const progress = stream.screenLine;
      logger.onEpochEnd(12, epochContext, at(5.2, "epoch"));
      const epochLine = stream.text.split("\n").at(-2)!;
      logger.onTrainEnd({ ...epochContext, epochs: 13 }, at(5.3, "train"));
      const finalLine = stream.text.split("\n").at(-2)!;
      return { progress, epochLine: epochLine.slice(epochLine.lastIndexOf("\r") + 1).trimEnd(), finalLine };
    }

    it("keeps the epoch's validation metric: shorter names and precision first, then the last step's values go", () => {
      const wide = epochOnScreen(undefined);
      expect(wide.epochLine).to.equal("epoch 12: 500 steps in 5.2 s (96.2 steps/s) | loss=0.1235 accuracy=0.9543 valLoss=0.2346 " +
        "valAccuracy=0.9612 | last step: loss=0.1111 accuracy=0.9667 learningRate=0.000123 gradNorm=1.235");
      const narrow = epochOnScreen(80);
      expect(narrow.epochLine).to.equal("epoch 12: 500 steps in 5.2 s | loss=0.123 acc=0.954 valLoss=0.235 valAcc=0.961");
      expect(narrow.epochLine.length).to.be.at.most(79);
    });

    it("fits the progress line (the bar goes before the metrics) and the final line, so neither wraps", () => {
      const narrow = epochOnScreen(80);
      expect(narrow.progress).to.equal("epoch 12 | step 500/500 100% | loss=0.111 acc=0.967 lr=0.000123 gradNorm=1.23");
      expect(narrow.finalLine).to.equal("done: 1 epoch, 500 steps | loss=0.123 acc=0.954 valLoss=0.235 valAcc=0.961");
      for (const line of Object.values(narrow)) expect(line.length, line).to.be.at.most(79);
      const tiny = epochOnScreen(30);
      for (const line of Object.values(tiny)) {
        expect(line.length, line).to.equal(29);
        expect(line.endsWith("…"), line).to.equal(true);
      }
    });
  });

  it("shows sub-second durations in ms and µs", () => {
    const stream = new FakeStream(false);
    const logger = new ProgressLogger({ now: clock, stream });
    for (const [epoch, seconds] of [[0, 0.25], [1, 0.0005]] as const) {
      logger.onEpochBegin(epoch, {}, at(10, "epoch"));
      logger.onStepEnd(0, {}, at(10 + seconds / 2));
      logger.onEpochEnd(epoch, {}, at(10 + seconds, "epoch"));
    }
    expect(stream.lines).to.deep.equal(["epoch 0: 1 step in 250 ms (4 steps/s)", "epoch 1: 1 step in 500 µs (2000 steps/s)"]);
  });

  it("shows a run's duration and rate in the unit that reads best, from microseconds to hours", () => {
    const doneLine = (seconds: number): string => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream });
      logger.onTrainBegin({}, at(1000, "train"));
      logger.onStepBegin(0, {}, at(1000));
      logger.onStepEnd(0, { loss: 1 }, at(1000 + seconds));
      logger.onTrainEnd({}, at(1000 + seconds, "train"));
      return stream.lines[0];
    };
    expect([0.0005, 0.25, 1, 42.1, 59.9, 60, 185, 3599, 3720].map(doneLine)).to.deep.equal([
      "done: 0 epochs, 1 step in 500 µs (2000 steps/s) | loss=1",
      "done: 0 epochs, 1 step in 250 ms (4 steps/s) | loss=1",
      "done: 0 epochs, 1 step in 1 s (1 steps/s) | loss=1",
      "done: 0 epochs, 1 step in 42.1 s (42.1 s/step) | loss=1",
      "done: 0 epochs, 1 step in 59.9 s (59.9 s/step) | loss=1",
      "done: 0 epochs, 1 step in 1 min 00 s (60 s/step) | loss=1",
      "done: 0 epochs, 1 step in 3 min 05 s (185 s/step) | loss=1",
      "done: 0 epochs, 1 step in 59 min 59 s (3600 s/step) | loss=1",
      "done: 0 epochs, 1 step in 1 h 02 min (3720 s/step) | loss=1",
    ]);
  });

  it("shows asked-for strings cut past 24 characters and booleans, and names a train method's error or none", () => {
    const stream = new FakeStream(false);
    const logger = new ProgressLogger({ now: clock, stream, logEvery: 1, keys: ["phase", "ok", "loss"] });
    logger.onStepBegin(0, {}, at(10));
    logger.onStepEnd(0, { phase: "a-very-long-phase-name-that-goes-on", ok: false, loss: 0.5 }, at(10.5));
    logger.onStepBegin(1, {}, at(10.5));
    logger.onStepEnd(1, { phase: "exactly-24-characters-xx", ok: true, loss: 0.25 }, at(11));
    logger.onTrainBegin({}, at(11, "train"));
    logger.onError(new RangeError("bad\nsecond line"), {}, at(12, "train"));
    logger.onError(new TypeError("no where"), {}, undefined);
    expect(stream.lines).to.deep.equal([
      "step 1: 2 steps/s | phase=a-very-long-phase-name-… ok=false loss=0.5",
      "step 2: 2 steps/s | phase=exactly-24-characters-xx ok=true loss=0.25",
      "error in train: RangeError: bad …",
      "error: TypeError: no where",
    ]);
  });

  it("shows an ETA until the epoch's last step, none at it, and an epoch of one step in the singular", () => {
    const stream = new FakeStream(true, 60);
    const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, stepsPerEpoch: 10 });
    logger.onEpochBegin(0, {}, at(0, "epoch"));
    const shown: string[] = [];
    for (let step = 0; step < 10; step++) {
      logger.onStepBegin(step, {}, at(step));
      logger.onStepEnd(step, { loss: 1 / (step + 1) }, at(step + 1));
      if (step === 4 || step === 9) shown.push(stream.screenLine);
    }
    expect(shown).to.deep.equal(["epoch 0 | step 5/10 50% | 1 steps/s | eta 5 s | loss=0.2", "epoch 0 | step 10/10 100% | 1 steps/s | loss=0.1"]);
    logger.onEpochEnd(0, {}, at(10, "epoch"));
    logger.onEpochBegin(1, {}, at(10, "epoch"));
    expect(stream.screenLine).to.equal("epoch 1 | step 0/10 [>                   ]   0% | - steps/s");

    const one = new FakeStream(true, 1); // a width too small to mean anything: lines are not cut
    const single = new ProgressLogger({ now: clock, stream: one, refreshMs: 0 });
    single.onEpochBegin(3, {}, at(0, "epoch"));
    single.onStepEnd(0, { loss: 2 }, at(1));
    single.onEpochEnd(3, { acc: 1 }, at(2, "epoch"));
    expect(one.text).to.equal("\repoch 3 | step 0 | - steps/s\repoch 3 | step 1 | 1 steps/s | loss=2\repoch 3: 1 step in 2 s (2 s/step) | acc=1 | last step: loss=2\n");
  });

  it("shortens names (words past 6 letters to 4, the capital kept) and numbers (3 digits) when the line is short of room", () => {
    const stream = new FakeStream(true, 70);
    const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0 });
    logger.onEpochBegin(0, {}, at(0, "epoch"));
    logger.onStepEnd(0, { Momentum: 12345678, biases: 0.00001234, ratio: 0.123456, count: 42 }, at(1));
    expect(stream.screenLine).to.equal("epoch 0 | step 1 | Mome=1.23e+7 biases=1.23e-5 ratio=0.123 count=42");
  });

  it("shows no time at all, one millisecond and whole hours, and no rate for a run that took no time", () => {
    const doneLine = (seconds: number): string => {
      const stream = new FakeStream(false);
      const logger = new ProgressLogger({ now: clock, stream });
      logger.onTrainBegin({}, at(1000, "train"));
      logger.onStepBegin(0, {}, at(1000));
      logger.onStepEnd(0, {}, at(1000 + seconds));
      logger.onTrainEnd({}, at(1000 + seconds, "train"));
      return stream.lines[0];
    };
    expect([0, 0.001, 3600, 7260].map(doneLine)).to.deep.equal([
      "done: 0 epochs, 1 step in 0 s (- steps/s)",
      "done: 0 epochs, 1 step in 1 ms (1000 steps/s)",
      "done: 0 epochs, 1 step in 1 h 00 min (3600 s/step)",
      "done: 0 epochs, 1 step in 2 h 01 min (7260 s/step)",
    ]);
  });

  it("writes nothing for any hook after close(), on a terminal or not", () => {
    for (const isTTY of [true, false]) {
      const stream = new FakeStream(isTTY);
      const logger = new ProgressLogger({ now: clock, stream, refreshMs: 0, logEvery: 1 });
      logger.close();
      logger.onTrainBegin({}, at(1, "train"));
      logger.onEpochBegin(0, {}, at(1, "epoch"));
      logger.onStepBegin(0, {}, at(1));
      logger.onStepEnd(0, { loss: 1 }, at(2));
      logger.onError(new Error("late"), {}, at(2));
      logger.onEpochEnd(0, { acc: 1 }, at(3, "epoch"));
      logger.onTrainEnd({ done: 1 }, at(3, "train"));
      logger.close();
      expect(stream.chunks, `isTTY ${isTTY}`).to.deep.equal([]);
    }
  });

  it("measures rates with performance.now() by default: a sub-millisecond epoch still has a rate", () => {
    const stream = new FakeStream(false);
    const logger = new ProgressLogger({ stream });
    // Events whose ts (Date.now(), milliseconds) did not move: the clock of the logger is its own.
    logger.onEpochBegin(0, {}, at(100, "epoch"));
    for (let step = 0; step < 15; step++) logger.onStepEnd(step, { loss: 1 }, at(100));
    const until = performance.now() + 0.2;
    while (performance.now() < until); // the clock must move, however fast this machine is
    logger.onEpochEnd(0, {}, at(100, "epoch"));
    expect(stream.lines).to.have.length(1);
    expect(stream.lines[0]).to.match(/^epoch 0: 15 steps in [\d.]+ (µs|ms) \([\d.e+]+ steps\/s\) \| last step: loss=1$/);
    expect(() => new ProgressLogger({ now: 5 as never })).to.throw(TypeError, "ProgressLogger: now must be a function returning milliseconds");
  });

  it(`reports a decorated trainer's epochs, steps and errors (${convention} decorators)`, async () => {
    const stream = new FakeStream(false);
    @telemetry({ loggers: [new ProgressLogger({ stream, stepsPerEpoch: 3, logEvery: 3 })] })
    class Trainer {
      @onTrain() async fit() {
        for (let epoch = 0; epoch < 2; epoch++) await this.fitEpoch(epoch);
        try { this.trainStep(99); } catch { /* the trainer recovers; the logger still reports it */ }
        return { best: 0.875 };
      }
      @onEpoch() async fitEpoch(epoch: number) {
        for (let s = 0; s < 3; s++) this.trainStep(epoch * 3 + s);
        return { valAcc: 0.5 + epoch / 4 };
      }
      @onStep() trainStep(step: number) {
        if (step === 99) throw new Error("diverged");
        return { loss: 1 / (step + 1) };
      }
    }
    await new Trainer().fit();
    const lines = stream.lines.map((line) => line.replace(/[\d.e+-]+ (steps\/s|s\/step)(?=\W)/g, "<$1>").replace(/in [\d.e+-]+ (s|ms|µs) /g, "in <s> "));
    expect(lines).to.deep.equal([
      "epoch 0 step 3/3: <steps/s> | loss=0.3333",
      "epoch 0: 3 steps in <s> (<steps/s>) | valAcc=0.5 | last step: loss=0.3333",
      "epoch 1 step 3/3: <steps/s> | loss=0.1667",
      "epoch 1: 3 steps in <s> (<steps/s>) | valAcc=0.75 | last step: loss=0.1667",
      "error in step 99: Error: diverged",
      "done: 2 epochs, 6 steps in <s> (<steps/s>) | best=0.875",
    ]);
  });
});
