/** What one status request produces, independent of the output format. */
import type { AuditEntry } from './admin.js';
import type { AjpView, LbView } from './view.js';

/** mod_jk's commands, and `history` (jkbalancer's: the last hour's samples, mime=json only). */
export const COMMANDS = ['list', 'show', 'edit', 'update', 'reset', 'recover', 'version', 'dump', 'history'] as const;
export type Command = (typeof COMMANDS)[number];
export const MIMES = ['html', 'xml', 'txt', 'prop', 'json'] as const;
export type Mime = (typeof MIMES)[number];

/**
 * Commands that change state or show a change form: refused in read-only mode
 * (docs/status-worker.md#commands).
 */
export const CHANGE_COMMANDS: ReadonlySet<Command> = new Set(['edit', 'update', 'reset', 'recover']);
/**
 * The change commands that act: they must also come from this site and be addressed to this
 * balancer. `edit` only shows a form, so a link to it from elsewhere is harmless.
 */
export const STATE_COMMANDS: ReadonlySet<Command> = new Set(['update', 'reset', 'recover']);

export interface Result {
  readonly type: 'OK' | 'ERROR';
  readonly message: string;
}

export const OK_RESULT: Result = { type: 'OK', message: 'Action finished' };

/** A change's answer: mod_jk's, plus the shared state version it produced (--state-redis). */
export const okResult = (version: number | null): Result =>
  version === null ? OK_RESULT : { type: 'OK', message: `${OK_RESULT.message} (shared state version ${version})` };

/** The link to the shared admin state (--state-redis), as the status page shows it. */
export interface SharedStateView {
  /** The store's URL without credentials. */
  readonly store: string;
  /** 'up': changes are taken; 'down': this instance serves its last known state and refuses changes. */
  readonly link: 'up' | 'down';
  /** Since when (ms since the epoch) the link is in this state. */
  readonly since: number;
  /** Why the link is down (the last connection error), null when up. */
  readonly error: string | null;
  /** This instance's name in the audit trails of the others. */
  readonly instance: string;
  /** Per lb: the version of the shared state this instance has applied (0: none yet). */
  readonly versions: Readonly<Record<string, number>>;
}

export interface StatusReport {
  /** Valid command, or null when the request was refused before the command was known to be valid. */
  readonly cmd: Command | null;
  /** Server line: printed for list, show, edit, version, dump. */
  readonly server: { readonly name: string; readonly port: number } | null;
  /** Time and software lines: printed for list, show, version, dump. */
  readonly head: { readonly nowMs: number; readonly webServer: string; readonly jkVersion: string } | null;
  /** cmd=list: null members are hidden by opt (or there are none). */
  readonly listing: { readonly lbs: readonly LbView[] | null; readonly ajps: readonly AjpView[] | null } | null;
  /** cmd=show: the one worker, printed without the balancers/ajp_workers wrapper (as mod_jk does). */
  readonly shown: { readonly lb: LbView } | { readonly ajp: AjpView } | null;
  /** cmd=dump: workers.properties as loaded, secrets removed. */
  readonly dump: readonly (readonly [string, string])[] | null;
  readonly result: Result;
  /** cmd=list: the audit trail (AdminState, newest last); only mime=json and the HTML page show it. */
  readonly audit?: readonly AuditEntry[] | null;
  /** cmd=history (mime=json only): StatusContext.getHistory's answer, given as it is. */
  readonly history?: object | null;
  /** cmd=list and show: the shared state link (--state-redis); only mime=json and the HTML page show it. */
  readonly shared?: SharedStateView | null;
}
