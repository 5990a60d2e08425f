/**
 * mmufuzz's public API, by name. Layers: the runtime (model-agnostic
 * interleaving scheduler and primitives), strategies (decision sources), the
 * KVM MMU model, and trace rendering.
 */
export * as runtime from './runtime';
export * as strategies from './strategies';
export * as model from './model';
export { renderSwimlanes } from './report/swimlane';
