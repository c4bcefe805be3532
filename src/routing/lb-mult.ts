/** lbfactor → lb_mult (docs/load-balancing.md#weights): lb_mult[i] = lcm(all factors) / lbfactor[i]. */

/**
 * Above this the exact LCM would let lb_value outgrow the 53 bits a JS number holds exactly
 * (values accumulate lb_mult per request between decays); such configurations get multipliers
 * proportional to 1/lbfactor instead, which keeps the ratios the LCM would give to within rounding.
 */
const MAX_EXACT_LCM = 2 ** 31;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Factors below 1 count as 1, as mod_jk clamps them. Runs only on construction and lbfactor changes. */
export function lbMults(factors: readonly number[]): number[] {
  const fs = factors.map((f) => Math.max(1, Math.floor(f)));
  let lcm = 1;
  for (const f of fs) {
    lcm = (lcm / gcd(lcm, f)) * f;
    if (lcm > MAX_EXACT_LCM) {
      return fs.map((g) => Math.max(1, Math.round(MAX_EXACT_LCM / g)));
    }
  }
  return fs.map((f) => lcm / f);
}
