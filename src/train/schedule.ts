// Learning-rate schedules: pure functions of the step.

export type LrSchedule =
  | { kind: 'constant' }
  /** Multiply by gamma every `everyEpochs` epochs. */
  | { kind: 'step'; everyEpochs: number; gamma: number }
  /** Cosine annealing from the base rate to `minLr` over the whole run (Loshchilov & Hutter 2017). */
  | { kind: 'cosine'; minLr?: number };

export function learningRateAt(schedule: LrSchedule, base: number, step: number, stepsPerEpoch: number, totalSteps: number): number {
  switch (schedule.kind) {
    case 'constant': return base;
    case 'step': return base * schedule.gamma ** Math.floor(step / (schedule.everyEpochs * stepsPerEpoch));
    case 'cosine': {
      const min = schedule.minLr ?? 0;
      return min + ((base - min) * (1 + Math.cos((Math.PI * Math.min(step, totalSteps)) / totalSteps))) / 2;
    }
  }
}
