/** The KVM MMU model's public surface. */
export { Kvm, DEFAULT_KVM_PARAMS, GuestPt } from './kvm';
export type { KvmParams, SlotSpec } from './kvm';
export { Vcpu } from './vcpu';
export { Sp } from './mmu-page';
export { Memslot, Memslots, Rmap, APIC_DEFAULT_GFN, APIC_ACCESS_PAGE_PRIVATE_MEMSLOT } from './memslots';
export { SWITCHES, SWITCH_NAMES, VARIANTS, configOf, defaultConfig, describeConfig } from './switches';
export type { ModelConfig, SwitchName, SwitchInfo, VariantInfo } from './switches';
export { spawnVm, buildEpt12, registerOracles, ioctlThread, mmThread } from './vm';
export type { IoctlOp, MmOp, VmProgram } from './vm';
export type { VcpuOp } from './vcpu-run';
export type { MemslotRequest, MemslotChange } from './memslot-ops';
