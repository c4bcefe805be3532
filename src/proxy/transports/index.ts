/** Picks the transport for a member's type. */
import type { MemberConfig } from '../../config/model.js';
import type { Transport } from '../transport.js';
import { createHttpTransport } from './http.js';

export function createTransport(member: MemberConfig): Transport {
  switch (member.type) {
    case 'http':
      return createHttpTransport(member);
    case 'ajp13':
      throw new Error('ajp13 transport not wired yet');
  }
}
