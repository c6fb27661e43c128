/**
 * Seeded randomness for fault injection and latency sampling. Each model id gets its own
 * streams (derived from the global seed and the id), so adding traffic to one model or turning
 * on latency jitter does not shift the fault sequence another test or benchmark relies on.
 */
import type { ModelBehaviour } from "./config.ts";

export type RandomSource = () => number;

/** mulberry32: tiny, fast, good enough for simulation; returns [0, 1). */
export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a, to turn (seed, model id, purpose) into a 32-bit stream seed. */
export function hashSeed(...parts: ReadonlyArray<string | number>): number {
  let hash = 0x811c9dc5;
  for (const char of parts.join("\u0000")) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export type FaultKind = "serviceUnavailable" | "modelError" | "modelTimeout";

/**
 * Draws one uniform number and maps it onto the configured fractions, so the rates are exact
 * shares of one draw (their sum is capped at 1) and a rate of 1.0 always fires.
 */
export function drawFault(faults: ModelBehaviour["faults"], random: RandomSource): FaultKind | undefined {
  const draw = random();
  let threshold = 0;
  const ordered: Array<[FaultKind, number]> = [
    ["serviceUnavailable", faults.serviceUnavailableRate],
    ["modelError", faults.modelErrorRate],
    ["modelTimeout", faults.modelTimeoutRate],
  ];
  for (const [kind, fraction] of ordered) {
    threshold += fraction;
    if (fraction > 0 && draw < threshold) return kind;
  }
  return undefined;
}

export function drawSlow(faults: ModelBehaviour["faults"], random: RandomSource): boolean {
  const draw = random();
  return faults.slowRate > 0 && draw < faults.slowRate;
}

/** Standard normal via Box–Muller (one value per call; simplicity over throughput). */
function standardNormal(random: RandomSource): number {
  const u1 = Math.max(random(), Number.MIN_VALUE);
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * Simulated (unscaled) model time in ms for an answer of `outputTokens` tokens. The random
 * part is drawn even for "fixed" so switching distributions does not shift later draws.
 */
export function sampleLatencyMs(
  latency: ModelBehaviour["latency"],
  outputTokens: number,
  random: RandomSource,
): number {
  const { distribution, meanMs, jitterMs } = latency;
  const z = standardNormal(random);
  let base: number;
  switch (distribution) {
    case "fixed":
      base = meanMs;
      break;
    case "uniform":
      // Reuse the normal draw's CDF position as a uniform draw in [0, 1).
      base = meanMs + (2 * normalCdf(z) - 1) * jitterMs;
      break;
    case "normal":
      base = meanMs + z * jitterMs;
      break;
    case "lognormal": {
      // Parameters chosen so the distribution's mean and stddev are meanMs and jitterMs: right-skewed
      // tails like real inference latency, where a few calls take several times the median.
      if (meanMs <= 0) {
        base = 0;
        break;
      }
      const sigma2 = Math.log(1 + (jitterMs * jitterMs) / (meanMs * meanMs));
      const mu = Math.log(meanMs) - sigma2 / 2;
      base = Math.exp(mu + Math.sqrt(sigma2) * z);
      break;
    }
  }
  return Math.max(latency.minMs, base + latency.perOutputTokenMs * outputTokens);
}

/** Abramowitz–Stegun approximation of the standard normal CDF. */
function normalCdf(x: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(x));
  const d = 0.3989423 * Math.exp((-x * x) / 2);
  const p = d * t * (0.3193815 + t * (-0.3565638 + t * (1.781478 + t * (-1.821256 + t * 1.330274))));
  return x > 0 ? 1 - p : p;
}
