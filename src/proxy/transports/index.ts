/** Picks the transport for a member's type. */
import type { MemberConfig } from '../../config/model.js';
import type { Transport } from '../transport.js';
import { createAjp13Transport } from './ajp13/index.js';
import { createHttpTransport } from './http.js';

export function createTransport(member: MemberConfig): Transport {
  return member.type === 'ajp13' ? createAjp13Transport(member) : createHttpTransport(member);
}
