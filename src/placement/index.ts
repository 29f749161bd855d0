export { moduleTree, walk, type ModuleNode, type Family } from './module-tree.ts';
export { parseRuleFile, loadRules, type Rule, type RuleFile } from './rules.ts';
export { placeModules, type Placement, type ModulePlacement } from './place.ts';
export { planPlacement, familyOf, type PlacementPlan, type DeviceLimits, type DeviceBytes } from './plan.ts';
export { defaultRulesFile } from './select.ts';
export type { Device, OpClass } from './vocabulary.ts';
