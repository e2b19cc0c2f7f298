// The public API (browser-safe: nothing here reads files; see src/data/sources.ts and the CLI for Node).
export type { Backend, Tensor } from './backend.js';
export { WebGpuBackend } from './webgpu/backend.js';
export { NoWebGpuError } from './webgpu/device.js';
export { GpujsBackend, type GpujsMode, probeGpujsModes } from './gpujs/backend.js';
export { type BackendChoice, type ComputeBackend, backendLabel, openBackend, openNative, schedulerFor } from './open-backend.js';
/** The native CPU backend (Node only): open it with openBackend({ backend: 'native' }) or openNative(). */
export type { NativeBackend, NativeBackendOptions } from './native/backend.js';
export { CpuBackend } from './cpu/backend.js';
export { type ModelSpec, type Node, type Task, GraphBuilder, inferShapes, outputNames, shuffledChannels, taskOf } from './model/graph.js';
export { type Model, initModel, parameterCount, paramList } from './model/model.js';
export { zoo, zooModel } from './model/zoo.js';
export { predict } from './model/predict.js';
export { Network } from './model/network.js';
export { type Batch, type Dataset, MNIST_NORMALIZATION, FASHION_MNIST_NORMALIZATION, datasetFromBytes, loadBatch, makeDataset, masksAt, parseIdx, parseNpy, subset } from './data/dataset.js';
/** Images picked or dropped in a browser (a folder, a zip's files), laid out and streamed as a folder on disk is. */
export { type ImageFile, commonFolder, decodeImageBlob, loadImageFiles } from './data/browser-images.js';
export { type ImageLayout, type ImageSet, imageLayout, openImageSet } from './data/image-set.js';
export { type PruneData, checkDataFits, dataForModel, foldedExport, pruneData } from './run/run-data.js';
export { MASK_IGNORE } from './train/objective.js';
export { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from './train/checkpoint.js';
export { type Progress, type RegularizeContext, type TrainHooks, type TrainOptions, train } from './train/trainer.js';
export { type EvalResult, evaluateModel } from './train/evaluate.js';
export { type AcceleratorConfig, validateConfig } from './accel/config.js';
export { presets, DEFAULT_PRESET } from './accel/presets.js';
export { type ModelCost, evaluate } from './accel/cost.js';
export { modelWorkloads } from './accel/model-workload.js';
export { gpuScheduler } from './schedulers/webgpu.js';
export { channelGroups, type Group } from './prune/dependency.js';
export { criteria } from './prune/criteria/index.js';
export { pruneChannels } from './prune/prune.js';
export { type ChannelAllocation, ChannelPruner, type PruneStep, type PrunerOptions, type PruneSchedule, type StepContext, byRatio } from './prune/pruner.js';
export { type Allocation, type AllocationOptions, allocate } from './prune/allocate.js';
export type { Criterion, ImportanceContext } from './prune/criteria/index.js';
export { type Budget, CostModel, parseBudget, specWithCounts } from './plan/index.js';
export { pruneToBudget, pruneUniformToBudget, toBudget } from './plan/index.js';
export { allocateToBudget } from './plan/index.js';
export { LayerTables } from './plan/index.js';
export { unstructuredMasksOnDevice } from './prune/threshold.js';
export { nmMasks, unstructuredMasks } from './prune/sparsity.js';
export { compactModel, applyChannelMasks } from './prune/compact.js';
export { type PruningHistory, pruningHistory, prunedSpec, replayPruning } from './prune/history.js';
/** Structured sparsity learning: train(be, model, data, options, { ...new SparsityPenalty(spec, groups, o).hooks() }) (examples/library.ts), or sparseTrain(). */
export { NEAR_ZERO, SparsityPenalty, type SparsityOptions, removeEmptied, sparseTrain, structureNorms } from './prune/regularize.js';
export { type StructureKind, type Structures, STRUCTURE_KINDS, penaltyStructures, residualBlocks } from './prune/structures.js';
export { cropKernels, kernelCrops, removeBlocks } from './prune/structure-removal.js';
/** Low-rank decomposition: SVD, Tucker-2 and CP into ordinary layers, ranks by energy, by VBMF or planned to a budget. */
export { type DecomposableLayer, type DecomposedLayer, type Ranks, decompose, decomposableLayers, decomposedSpec, layerSpectra, ranksForEnergy, ranksForVbmf } from './decompose/decompose.js';
export { cpAls, rankForEnergy, singularValues, truncatedSvd, tucker2 } from './decompose/factorize.js';
export { vbmfRank } from './decompose/vbmf.js';
export { type RankPlan, planRanks } from './plan/index.js';
export { type JointPlan, type JointPlanOptions, planPruneDecompose } from './plan/index.js';
export { adaptBatchNorm } from './train/adapt-bn.js';
export { type DecomposeRunOptions, runDecompose } from './run/decompose-run.js';
export { type DecomposeReport, renderDecomposeHtml } from './report/decompose-report.js';
/** Quantization: calibrators, post-training quantization, quantized layers in the spec (fake-quantized on every backend). */
export { AbsHistogram, entropyThreshold, mseThreshold, percentileThreshold, qparams, sqnr } from './quantize/calibrate.js';
export { type ActivationQuant, type LayerQuant, type Quantization, grid, weightScales } from './model/quantization.js';
export { CALIBRATORS, type Calibrator, type LayerError, type PtqOptions, type PtqResult, quantizeModel } from './quantize/ptq.js';
export { type MixedPrecisionOptions, type MixedPrecisionPlan, planMixedPrecision } from './plan/index.js';
export { type QuantizeRunOptions, runQuantize } from './run/quantize-run.js';
export { type QuantizeReport, renderQuantizeHtml } from './report/quantize-report.js';
export { importOnnx } from './onnx/import.js';
export { exportOnnx } from './onnx/export.js';
export { runPrune } from './run/prune-run.js';
export { runPruneWithFallback } from './run/fallback.js';
export { type ModelSummary, type RunReport, type SweepPoint, paretoChart, renderHtml } from './report/report.js';
export { barChart, lineChart } from './report/svg.js';
