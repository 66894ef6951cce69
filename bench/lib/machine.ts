/**
 * What a benchmark ran on: cores, CPU model, memory, node and onnxruntime versions, load
 * averages (print them before and after: on a shared 2-core box other processes skew timings).
 */
import * as os from 'node:os';
import * as ort from 'onnxruntime-node';

export interface MachineInfo {
  cores: number;
  cpu: string;
  memGiB: number;
  node: string;
  ort: string;
  platform: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    memGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    ort: ort.env.versions.node ?? ort.env.versions.common ?? 'unknown',
    platform: `${os.platform()} ${os.arch()}`,
  };
}

export function describeMachine(m: MachineInfo = machineInfo()): string {
  return `${m.cores} cores (${m.cpu}), ${m.memGiB.toFixed(0)} GiB, ${m.platform}, node ${m.node}, onnxruntime-node ${m.ort}`;
}

/** 1/5/15-minute load averages, e.g. "1.02 0.80 0.55". */
export function loadAvg(): string {
  return os.loadavg().map((x) => x.toFixed(2)).join(' ');
}

export const rssMiB = (): number => process.memoryUsage().rss / 2 ** 20;

/** Peak resident set size of this process so far (MiB). */
export const maxRssMiB = (): number => process.resourceUsage().maxRSS / 1024;
