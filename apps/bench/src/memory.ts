import { readFileSync } from 'node:fs';

/**
 * Peak resident set size of this process in MiB: the kernel's high-water mark (VmHWM) where /proc exists,
 * else Node's maxRSS (the same figure from getrusage). Each benchmark runs in its own process, so this is
 * the peak of that benchmark alone.
 */
export function peakRssMiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) / 1024;
  } catch {
    // No procfs (macOS, Windows): fall through.
  }
  return process.resourceUsage().maxRSS / 1024;
}
