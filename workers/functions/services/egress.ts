/** The egress policy of functions: the shared one (workers/shared/egress.ts), also used by Edge SSR. */
export { deniedHosts, egressDecision, type EgressDecision } from '../../shared/egress.ts';
