// Choosing what to cut against a budget, in one place: the cost model of a pruned spec (budget.ts),
// per-layer cost tables (layer-tables.ts), the knapsack over channel groups (allocate-budget.ts) and its
// allocation object for a ChannelPruner (to-budget.ts), whole prune runs to a budget (prune-to-budget.ts),
// and the planners that judge candidates by pruning them to the budget (budget-judge.ts): ranks
// (ranks.ts), low-rank splits with pruning (prune-and-decompose.ts), bit widths (mixed-precision.ts) and
// what a run plans before pruning (before-pruning.ts). Code outside plan/ imports from here.
export * from './budget.js';
export * from './layer-tables.js';
export * from './allocate-budget.js';
export * from './to-budget.js';
export * from './prune-to-budget.js';
export * from './budget-judge.js';
export * from './ranks.js';
export * from './prune-and-decompose.js';
export * from './mixed-precision.js';
export * from './before-pruning.js';
