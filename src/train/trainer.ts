// The training loop on any backend: a whole step (forward, loss, backward, optimizer) is recorded and
// submitted without reading anything back; loss and accuracy accumulate on the device and are read
// every `logEvery` steps. Optional knowledge distillation runs the teacher in the same step.
import { yieldToEvents } from '../interrupt.js';
import type { Backend, Tensor } from '../backend.js';
import { augmentBatch } from '../data/augment.js';
import { type Batch, type Dataset, epochOrder, loadBatch, loadBatchAhead } from '../data/dataset.js';
import { inferShapes } from '../model/graph.js';
import { type Model, firstNonFinite, paramList } from '../model/model.js';
import { Network } from '../model/network.js';
import { inferenceNetwork } from './inference.js';
import { type Distillation, type Supervision, accumulateSum, stepLoss, supervisionOf, uploadTargets } from './objective.js';
import type { Checkpoint, TrainingPosition } from './checkpoint.js';
import { type LrSchedule, learningRateAt } from './schedule.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam';
  learningRate: number;
  /** SGD momentum (0.9 by default). */
  momentum?: number;
  weightDecay?: number;
  schedule?: LrSchedule;
  seed: number;
  /** Read loss and accuracy back every this many steps (and at the end). */
  logEvery?: number;
  /** Distillation from a teacher model (passed to train()); `features`: nodes whose outputs are matched too (objective.ts). */
  distill?: Distillation;
  /** Stop after this many steps in all (a resumed run counts the steps before it). */
  maxSteps?: number;
  /** End the run (normally, not as an interruption) once it has trained this long. */
  maxSeconds?: number;
}

export interface Progress {
  step: number;
  totalSteps: number;
  epoch: number;
  /** Mean loss and accuracy over the steps since the previous report. */
  loss: number;
  accuracy: number;
  learningRate: number;
  samplesPerSecond: number;
  elapsedMs: number;
}

export interface TrainHooks {
  teacher?: Model;
  onProgress?: (p: Progress) => void;
  /** Continue from this checkpoint (model, optimizer state, position). */
  resume?: Checkpoint;
  /** Polled after every step; true stops the run cleanly (the result holds a resumable checkpoint). */
  shouldStop?: () => boolean;
  /** Called with a resumable checkpoint every `checkpointEvery` steps and when the run stops. */
  onCheckpoint?: (c: Checkpoint) => Promise<void> | void;
  checkpointEvery?: number;
  /** Between the backward pass and the optimizer step: add a penalty's gradient to `grads` (sparse training). */
  regularize?: (c: RegularizeContext) => Promise<void> | void;
  /** After the optimizer step: replace parameters (a proximal step), given the step's learning rate. */
  afterStep?: (c: AfterStepContext) => Promise<void> | void;
}

/** What a regularizer sees each step: the step index, the parameters, and the gradients it may replace. */
export interface RegularizeContext { be: Backend; step: number; params: ReadonlyMap<string, Tensor>; grads: Map<string, Tensor>; learningRate: number }
/** After the optimizer step: the parameters (entries may be replaced; the old tensor is the hook's to dispose) and the learning rate used. */
export interface AfterStepContext { be: Backend; step: number; params: Map<string, Tensor>; learningRate: number }

export interface TrainResult {
  model: Model;
  history: Progress[];
  /** A checkpoint of the final state (resumable if the run stopped early). */
  checkpoint: Checkpoint;
  stopped: boolean;
}

/** How `data` supervises `model` (objective.ts), as a train: error. */
function trainingSupervision(model: Model, data: Dataset, hasTeacher: boolean): Supervision {
  try {
    return supervisionOf(model.spec, inferShapes(model.spec), data, hasTeacher);
  } catch (e) {
    throw new Error(`train: ${(e as Error).message}`);
  }
}

const stateNames = (o: TrainOptions) => (o.optimizer === 'adam' ? ['m', 'v'] : ['velocity']);

export async function train(be: Backend, model: Model, data: Dataset, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const o = (hooks.resume?.position?.options as TrainOptions | undefined) ?? options;
  if (!(o.batchSize >= 1 && o.batchSize <= data.count)) throw new Error(`train: batch size ${o.batchSize} must be between 1 and the ${data.count} samples`);
  if (!(o.learningRate > 0)) throw new Error(`train: learning rate must be > 0, got ${o.learningRate}`);
  if (data.shape.join() !== model.spec.inputShape.join()) throw new Error(`train: data set '${data.name}' has samples of [${data.shape}], model '${model.spec.name}' takes [${model.spec.inputShape}]`);
  const start = hooks.resume?.model ?? model;
  if (o.distill && !hooks.teacher) throw new Error('train: distillation options given without a teacher model');
  const supervision = trainingSupervision(start, data, !!hooks.teacher);
  const net = new Network(be, start);

  const trainable = paramList(start.spec).filter((p) => p.trainable);
  const trainableNames = new Set(trainable.map((p) => p.name));
  const state = new Map<string, Tensor>();
  for (const p of trainable) {
    for (const s of stateNames(o)) {
      const saved = hooks.resume?.optimizer.get(`${p.name}.${s}`);
      state.set(`${p.name}.${s}`, saved ? be.upload(saved, p.shape) : be.zeros(p.shape));
    }
  }

  const stepsPerEpoch = Math.floor(data.count / o.batchSize);
  const totalSteps = Math.min(o.epochs * stepsPerEpoch, o.maxSteps ?? Infinity);
  let position: TrainingPosition = hooks.resume?.position ?? { step: 0, epoch: 0, batchInEpoch: 0, options: o };
  // Matching intermediate maps needs the teacher's nodes as they are (no batch norm folded into a conv, no ReLU fused).
  const teacher = hooks.teacher ? inferenceNetwork(be, hooks.teacher, { features: !!o.distill?.features?.length, batches: totalSteps - position.step }) : undefined;
  const logEvery = o.logEvery ?? 50;
  const history: Progress[] = [];
  const [c, h, w] = data.shape;
  let lossSum: Tensor = be.zeros([1]);
  let correctSum: Tensor = be.zeros([1]);
  let sinceReport = 0;
  let [rowsSince, scoredSince] = [0, 0]; // loss rows (samples or pixels) and scored ones since the report
  let reportStart = performance.now();
  const t0 = performance.now();
  let stopped = false;

  const report = async () => {
    const [loss, correct] = [(await be.read(lossSum))[0], (await be.read(correctSum))[0]];
    const now = performance.now();
    const p: Progress = {
      step: position.step, totalSteps, epoch: position.epoch,
      loss: loss / rowsSince, accuracy: scoredSince > 0 ? correct / scoredSince : NaN,
      learningRate: learningRateAt(o.schedule ?? { kind: 'constant' }, o.learningRate, position.step - 1, stepsPerEpoch, totalSteps),
      samplesPerSecond: (sinceReport * o.batchSize * 1000) / (now - reportStart), elapsedMs: now - t0,
    };
    if (!Number.isFinite(p.loss)) {
      // Diverged: say where, and stop before a NaN model is saved (the last checkpoint written stays).
      const bad = firstNonFinite((await net.download()).params);
      throw new Error(`training diverged: the loss is ${p.loss} over steps ${position.step - sinceReport + 1}-${position.step} (learning rate ${p.learningRate})${bad ? `; parameter '${bad.name}' holds ${bad.value}` : ''}. Lower the learning rate; the last checkpoint written is kept`);
    }
    history.push(p);
    hooks.onProgress?.(p);
    be.dispose(lossSum, correctSum);
    [lossSum, correctSum] = [be.zeros([1]), be.zeros([1])];
    sinceReport = rowsSince = scoredSince = 0;
    reportStart = now;
  };

  // The last one frees each optimizer state once read: the parameters read after it then take its arrays
  // (the native backend's pool) instead of fresh ones above the run's peak memory.
  const checkpoint = async (last = false): Promise<Checkpoint> => {
    const optimizer = new Map<string, Float32Array>();
    for (const [k, t] of state) {
      optimizer.set(k, await be.read(t));
      if (last) { be.dispose(t); state.delete(k); }
    }
    return { model: await net.download(), optimizer, position: { ...position, options: o } };
  };

  let order = epochOrder(data.count, o.seed, position.epoch);
  let ahead: { step: number; batch: Promise<Batch> } | undefined;
  while (position.step < totalSteps) {
    if (position.batchInEpoch >= stepsPerEpoch) {
      position = { ...position, epoch: position.epoch + 1, batchInEpoch: 0 };
      order = epochOrder(data.count, o.seed, position.epoch);
    }
    const b = position.batchInEpoch * o.batchSize;
    const gathered: Batch = await (ahead?.step === position.step ? ahead.batch : loadBatch(data, order.subarray(b, b + o.batchSize)));
    // The epoch's next batch is read (decoded, from a folder) while this step computes.
    ahead = position.batchInEpoch + 1 < stepsPerEpoch && position.step + 1 < totalSteps ? { step: position.step + 1, batch: loadBatchAhead(data, order.subarray(b + o.batchSize, b + 2 * o.batchSize)) } : undefined;
    // Seeded by the step, so that a resumed run augments as the uninterrupted one would have.
    const batch = data.augment ? augmentBatch(gathered, data.shape, o.seed * 1_000_003 + position.step, data.maskShape) : gathered;
    const lr = learningRateAt(o.schedule ?? { kind: 'constant' }, o.learningRate, position.step, stepsPerEpoch, totalSteps);

    const x = be.upload(batch.images, [batch.size, c, h, w]);
    const targets = uploadTargets(be, supervision, batch, data.maskShape);
    const forward = net.forward(x, true, { keep: o.distill?.features });
    const teacherPass = teacher?.forward(x);
    const { loss, seeds, correct, rows } = stepLoss(be, start.spec, net.shapes, supervision, forward, teacherPass, targets.tensor, o.distill);
    const step = (param: string, g: Tensor) => {
      const weight = net.params.get(param)!;
      const mask = net.masks.get(param);
      if (o.optimizer === 'adam') {
        be.adamStep(weight, g, state.get(`${param}.m`)!, state.get(`${param}.v`)!, { learningRate: lr, weightDecay: o.weightDecay, step: position.step + 1, mask });
      } else {
        be.sgdStep(weight, g, state.get(`${param}.velocity`)!, { learningRate: lr, momentum: o.momentum ?? 0.9, weightDecay: o.weightDecay, mask });
      }
    };
    // Each parameter steps as soon as its gradient is complete (no step needs another's gradient), so that
    // the gradients never all live at once; a regularizer reads them all first.
    const grads = net.backward(forward, seeds, hooks.regularize ? {} : { step: (param, g) => { if (trainableNames.has(param)) step(param, g); } });
    await hooks.regularize?.({ be, step: position.step, params: net.params, grads, learningRate: lr });
    for (const [param, g] of grads) if (trainableNames.has(param)) step(param, g);
    await hooks.afterStep?.({ be, step: position.step, params: net.params, learningRate: lr });
    lossSum = accumulateSum(be, lossSum, loss);
    if (correct) correctSum = accumulateSum(be, correctSum, correct);
    rowsSince += rows;
    scoredSince += targets.scored;
    be.dispose(x, targets.tensor, loss, correct, ...seeds.values(), ...grads.values());
    net.release(forward);
    if (teacherPass) teacher!.release(teacherPass);
    be.flush();
    position = { ...position, step: position.step + 1, batchInEpoch: position.batchInEpoch + 1 };
    sinceReport++;

    if (sinceReport >= logEvery || position.step === totalSteps) await report();
    if (hooks.onCheckpoint && hooks.checkpointEvery && position.step % hooks.checkpointEvery === 0) await hooks.onCheckpoint(await checkpoint());
    await yieldToEvents(); // a Ctrl-C reaches shouldStop within a step, whatever the backend
    if (hooks.shouldStop?.()) { stopped = position.step < totalSteps; break; }
    if (o.maxSeconds !== undefined && performance.now() - t0 > o.maxSeconds * 1000) break;
  }
  if (sinceReport > 0) await report();
  const final = await checkpoint(true);
  // The loss can stay finite while a parameter is not (a NaN reaching weights through a masked or unused path).
  const bad = firstNonFinite(final.model.params);
  if (stopped && !bad) await hooks.onCheckpoint?.(final);
  be.dispose(lossSum, correctSum, ...state.values());
  net.dispose();
  teacher?.dispose();
  if (bad) throw new Error(`training produced a non-finite parameter: '${bad.name}' holds ${bad.value} at index ${bad.index} after step ${position.step} (learning rate ${o.learningRate}); nothing was saved from this phase`);
  return { model: final.model, history, checkpoint: final, stopped };
}
