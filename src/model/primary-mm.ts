import { type Execution, KObject } from '../runtime';

/**
 * A host page of guest RAM (`struct page`). SPTEs hold no reference to it:
 * KVM relies on the MMU notifier to zap SPTEs before the primary MM frees it.
 * Freed pages are poisoned; a later guest access or kvm_set_pfn_dirty /
 * kvm_set_pfn_accessed on one is a use-after-free.
 */
export class Page extends KObject {
  /** References held by in-flight faults (get_page / kvm_release_pfn_clean). */
  refs = 0;
  /** Model: dirty / accessed as recorded by kvm_set_pfn_dirty / accessed. */
  dirty = false;
  accessed = false;
  /** Model: guest writes that reached this page. */
  writes = 0;
  constructor(ex: Execution, readonly pfn: number, readonly hva: number, name: string) {
    super(ex, 'page', name);
  }
}
