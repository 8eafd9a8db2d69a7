/**
 * The CPU cores this process may use: its CPU affinity (what `os.availableParallelism()` reports) bounded by a
 * cgroup CPU quota (containers, Kubernetes limits, systemd slices), which Node does not look at. llama.cpp's threads
 * spin while they wait for each other, so more threads than usable cores makes decoding 10-40x slower: every
 * thread default is taken from here, and asking for more is refused unless forced.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Reads a small system file; undefined when it cannot be read. */
export type SystemFileReader = (path: string) => string | undefined;

const readSystemFile: SystemFileReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** A quota of `quota` µs per `period` µs as whole cores (rounded down, at least 1); undefined when unlimited. */
function quotaCores(quota: number, period: number): number | undefined {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return undefined;
  return Math.max(1, Math.floor(quota / period));
}

/** The folders of a cgroup path and its ancestors (a parent's quota binds its children too). */
function withAncestors(root: string, path: string): string[] {
  const parts = path.split('/').filter((part) => part.length > 0);
  const folders = [root];
  for (let i = 1; i <= parts.length; i++) folders.push(`${root}/${parts.slice(0, i).join('/')}`);
  return folders;
}

/**
 * The cgroup CPU quota of this process in whole cores (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), the smallest along
 * its cgroup path; undefined when there is none (or not on Linux).
 */
export function cgroupCpuQuota(read: SystemFileReader = readSystemFile): number | undefined {
  const membership = read('/proc/self/cgroup');
  if (membership === undefined) return undefined;
  let smallest: number | undefined;
  const consider = (cores: number | undefined): void => {
    if (cores !== undefined && (smallest === undefined || cores < smallest)) smallest = cores;
  };
  for (const line of membership.split('\n')) {
    // "hierarchy-id:controllers:path"; v2 is "0::/path".
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, path] = match;
    if (id === '0' && controllers === '') {
      for (const folder of withAncestors('/sys/fs/cgroup', path)) {
        const [quota, period] = (read(`${folder}/cpu.max`) ?? '').trim().split(/\s+/);
        if (quota !== undefined && quota !== 'max') consider(quotaCores(Number(quota), Number(period)));
      }
    } else if (controllers.split(',').includes('cpu')) {
      // A container usually sees its own cgroup mounted at the root, so the root is read too.
      for (const mount of ['/sys/fs/cgroup/cpu', '/sys/fs/cgroup/cpu,cpuacct']) {
        for (const folder of withAncestors(mount, path)) {
          const quota = Number((read(`${folder}/cpu.cfs_quota_us`) ?? '').trim());
          const period = Number((read(`${folder}/cpu.cfs_period_us`) ?? '').trim());
          consider(quotaCores(quota, period));
        }
      }
    }
  }
  return smallest;
}

let cached: number | undefined;

/** The cores this process may use: its affinity, bounded by its cgroup CPU quota. At least 1. Computed once. */
export function usableCores(): number {
  if (cached === undefined) {
    const affinity = availableParallelism();
    const quota = cgroupCpuQuota();
    cached = Math.max(1, quota === undefined ? affinity : Math.min(affinity, quota));
  }
  return cached;
}
