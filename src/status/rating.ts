/** good / degraded / bad rating of a member from its activation and state (docs/status-worker.md#rating). */
import { Act, State, type ActCode, type StateCode } from '../routing/types.js';

const ACTIVATION_MASK: Record<ActCode, number> = {
  [Act.ACTIVE]: 0x000000ff,
  [Act.DISABLED]: 0x0000ff00,
  [Act.STOPPED]: 0x00ff0000,
};

const RECOVERING = 0x00080808;
const STATE_MASK: Record<StateCode, number> = {
  [State.IDLE]: 0x00020202,
  [State.OK]: 0x00010101,
  [State.RECOVER]: RECOVERING,
  [State.FORCE]: RECOVERING,
  [State.BUSY]: 0x00040404,
  [State.ERROR]: 0x00101010,
  [State.PROBE]: RECOVERING,
};

export type Rating = 'good' | 'degraded' | 'bad';

/** Bad wins over good when the masks overlap, as in mod_jk. */
export function rateMember(activation: ActCode, state: StateCode, goodMask: number, badMask: number): Rating {
  const mask = (ACTIVATION_MASK[activation] ?? 0) & (STATE_MASK[state] ?? 0);
  if (mask & badMask) return 'bad';
  if (mask & goodMask) return 'good';
  return 'degraded';
}
